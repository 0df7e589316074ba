// Command ocert makes the certificates and keys that authenticate Ouroboros
// names, in the layout of the IRMd's security directory (default
// /etc/ouroboros/security):
//
//	ocert ca                    root CA: cacert/<CN>.crt.pem, private/<CN>.key.pem
//	ocert im                    intermediate CA: untrusted/<CN>.crt.pem, private/<CN>.key.pem
//	ocert name NAME --server    server/NAME/crt.pem and key.pem, signed by the intermediate
//	ocert name NAME --client    client/NAME/crt.pem and key.pem
//	ocert check NAME --server   verify NAME's files as a peer would
//
// The CA keys stay in the private directory (mode 0700), which the IRMd
// never reads; on a real network keep them on another machine (--private)
// and copy cacert/, untrusted/ and each name's files to the hosts that need
// them. main.go parses the command line, make.go creates the files,
// check.go verifies them.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// Default names of the CA and the intermediate.
const (
	defaultCA = "ca.o7s"
	defaultIM = "im.o7s"
)

const usageText = `Usage: ocert COMMAND [OPTION]...
Makes the certificates and keys that authenticate Ouroboros names, in the
layout of the IRMd's security directory.

Commands:
  ca                        create a self-signed root CA
                            (cacert/CN.crt.pem; key in the private directory)
  im                        create an intermediate CA signed by the root
                            (untrusted/CN.crt.pem; key in the private directory)
  name NAME --server        create NAME's server certificate and key, signed by
                            the intermediate (server/NAME/crt.pem, key.pem)
  name NAME --client        the same for a client (client/NAME/...)
  check NAME --server|--client
                            verify NAME's files against cacert/ and untrusted/
                            as a peer would, and sign and verify with the key

Options:
  -d, --dir DIR             security directory (default /etc/ouroboros/security)
  -p, --private DIR         directory of the CA keys (default DIR/private)
      --cn CN               common name of the CA or intermediate
                            (default ca.o7s for ca, im.o7s for im)
      --issuer CN           CA that signs: for im the root (default ca.o7s), for
                            name im.o7s if its key exists, else ca.o7s
  -k, --key TYPE            key type of the certificate made: p256 (default),
                            p384, ed25519 (a reference server cannot sign with
                            Ed25519 when the name has an enc.conf), or the
                            post-quantum mldsa44, mldsa65, mldsa87 (ML-DSA,
                            FIPS 204; read by OpenSSL 3.5 and later). The CA,
                            the intermediate and each name may differ; the
                            issuer's key decides the signature algorithm
      --days N              validity in days (default 3650 ca, 1825 im, 365 name)
  -f, --force               overwrite existing files
  -h, --help                print this help and exit
`

// options is a parsed command line.
type options struct {
	cmd     string // ca, im, name, check
	name    string // NAME of name and check
	side    crypt.Side
	sideSet bool
	dir     crypt.SecurityDir
	private string
	cn      string
	issuer  string
	key     string
	days    int
	force   bool
}

// usageError is a wrong command line: the message, then the usage.
type usageError string

func (e usageError) Error() string { return string(e) }

// parse reads the command line. help reports -h/--help.
func parse(args []string) (o options, help bool, err error) {
	o.key = "p256"
	value := func(i *int, opt string) (string, error) {
		if *i+1 >= len(args) || args[*i+1] == "" {
			return "", usageError(fmt.Sprintf("ocert: option %s needs a value.", opt))
		}
		*i++
		return args[*i], nil
	}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		switch a {
		case "-h", "--help":
			return o, true, nil
		case "--server", "--client":
			if o.sideSet && (a == "--server") != (o.side == crypt.Server) {
				return o, false, usageError("ocert: give one of --server and --client.")
			}
			o.sideSet, o.side = true, crypt.Server
			if a == "--client" {
				o.side = crypt.Client
			}
		case "-f", "--force":
			o.force = true
		case "-d", "--dir", "-p", "--private", "--cn", "--issuer", "-k", "--key", "--days":
			if v, err = value(&i, a); err != nil {
				return o, false, err
			}
			switch a {
			case "-d", "--dir":
				o.dir = crypt.SecurityDir(v)
			case "-p", "--private":
				o.private = v
			case "--cn":
				o.cn = v
			case "--issuer":
				o.issuer = v
			case "-k", "--key":
				if !validKey(v) {
					return o, false, usageError(fmt.Sprintf("ocert: invalid value %q for %s: want one of %s.", v, a, strings.Join(crypt.KeyAlgorithms, ", ")))
				}
				o.key = v
			case "--days":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 100*366 {
					return o, false, usageError(fmt.Sprintf("ocert: invalid value %q for %s: want a number of days from 1 to 36600.", v, a))
				}
				o.days = n
			}
		default:
			if strings.HasPrefix(a, "-") {
				return o, false, usageError(fmt.Sprintf("ocert: unknown option %q.", a))
			}
			pos = append(pos, a)
		}
	}
	if len(pos) == 0 {
		return o, false, usageError("ocert: missing command (ca, im, name or check).")
	}
	o.cmd, pos = pos[0], pos[1:]
	switch o.cmd {
	case "ca", "im":
		if len(pos) > 0 {
			return o, false, usageError(fmt.Sprintf("ocert %s: unexpected argument %q (use --cn to name it).", o.cmd, pos[0]))
		}
		if o.sideSet {
			return o, false, usageError(fmt.Sprintf("ocert %s: --server and --client are for names.", o.cmd))
		}
	case "name", "check":
		if len(pos) != 1 {
			return o, false, usageError(fmt.Sprintf("ocert %s: give exactly one NAME.", o.cmd))
		}
		o.name = pos[0]
		if err := crypt.CheckName(o.name); err != nil {
			return o, false, usageError(fmt.Sprintf("ocert %s: %v.", o.cmd, err))
		}
		if !o.sideSet {
			return o, false, usageError(fmt.Sprintf("ocert %s: give --server or --client.", o.cmd))
		}
		if o.cn != "" {
			return o, false, usageError(fmt.Sprintf("ocert %s: --cn is for ca and im; the common name is NAME.", o.cmd))
		}
	default:
		return o, false, usageError(fmt.Sprintf("ocert: unknown command %q (want ca, im, name or check).", o.cmd))
	}
	if o.private == "" {
		o.private = o.dir.Root() + "/private"
	}
	return o, false, nil
}

func validKey(k string) bool {
	for _, a := range crypt.KeyAlgorithms {
		if k == a {
			return true
		}
	}
	return false
}

// run is the whole program; it returns the exit code: 0 on success and for
// --help, 1 on any failure (a wrong command line prints the usage too).
func run(args []string, stdout, stderr io.Writer) int {
	o, help, err := parse(args)
	if help {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprint(stderr, usageText)
		return 1
	}
	switch o.cmd {
	case "ca", "im", "name":
		err = makeFiles(o, stdout)
	case "check":
		err = check(o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ocert %s: %v\n", o.cmd, err)
		return 1
	}
	return 0
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
