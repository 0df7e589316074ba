// Command httpflow serves HTTP over Ouroboros flows and fetches pages from
// such a server, with the standard library's net/http server and client:
// flow.Listen gives the server a net.Listener, and flow.Dial gives the
// client's transport its connections. The host part of the URL is the
// Ouroboros name of the server.
//
//	httpflow serve -n web.srv [-d DIR]   serve DIR (default: a greeting page)
//	httpflow get http://web.srv/path     print the page's body on stdout
//
// Both ends use reliable flows (qos.Data: FRCT with retransmission).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

const usage = `Usage: httpflow serve -n NAME [-d DIR]
       httpflow get [-t TIMEOUT] URL

serve  binds this process to NAME and serves HTTP over reliable flows:
       the files of DIR, or a greeting page at / without -d.
get    fetches URL, whose host is the server's Ouroboros name, and
       prints the body; exits 1 unless the status is 200.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "get":
		err = get(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "httpflow: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	flow.Fini()
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpflow:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	name := fs.String("n", "", "Ouroboros name to serve on")
	dir := fs.String("d", "", "directory to serve (default: a greeting page)")
	fs.Parse(args)
	if *name == "" {
		return errors.New("serve: -n NAME is required")
	}
	// A directory that cannot be served is an error at start, not a 404 for
	// every request.
	if *dir != "" {
		st, err := os.Stat(*dir)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("serve: %s is not a directory", *dir)
		}
	}
	l, err := flow.Listen(*name)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	if *dir != "" {
		mux.Handle("/", http.FileServer(http.Dir(*dir)))
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "Hello from %s over Ouroboros: %s %s\n", *name, r.Method, r.URL.Path)
		})
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Printf("Serving HTTP on %s.\n", *name)
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Println("Server stopped.")
	return nil
}

// Transport returns an http.Transport whose connections are reliable flows
// to the URL's host name (the port, if any, is ignored).
func Transport() *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			return flow.Dial(ctx, host)
		},
		MaxIdleConnsPerHost: 4,
	}
}

func get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	timeout := fs.Duration("t", 30*time.Second, "timeout of the whole request")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("get: one URL expected")
	}
	c := &http.Client{Transport: Transport(), Timeout: *timeout}
	resp, err := c.Get(fs.Arg(0))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		return err
	}
	c.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", fs.Arg(0), resp.Status)
	}
	return nil
}
