package irm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// bindAuto is the BIND_AUTO bit of irm_msg.opts.
const bindAuto = 0x01

// BindProgram binds a program to name: every process started from it later
// is bound to the name when it announces itself (running instances are not).
// prog without a '/' is looked up in $PATH; the IRMd gets an absolute path.
// With auto, the IRMd starts "prog args..." when a flow arrives for name and
// nobody accepts it. A missing program gives ENOENT, one that is not
// executable EPERM, and a relative $PATH entry met in the search EINVAL.
func (c *Client) BindProgram(ctx context.Context, prog, name string, auto bool, args []string) error {
	path, err := resolveProgram(prog)
	if err != nil {
		return fmt.Errorf("bind program %s to %q: %w", prog, name, err)
	}
	req := msg(pb.IrmMsgCode_IRM_BIND_PROGRAM)
	req.Name = proto.String(name)
	// The IRMd drops the last element: the reference's argv terminator.
	req.Exec = append(append([]string{path}, args...), "")
	var opts uint32
	if auto {
		opts |= bindAuto
	}
	req.Opts = proto.Uint32(opts)
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("bind program %s to %q: %w", path, name, err)
	}
	return nil
}

// UnbindProgram removes the binding of prog to name. The IRMd keys programs
// by basename. An empty name gives EINVAL, as in the reference library (the
// IRMd would take it to mean "forget the program").
func (c *Client) UnbindProgram(ctx context.Context, prog, name string) error {
	if prog == "" || name == "" {
		return fmt.Errorf("unbind program %q from %q: %w", prog, name, oerr.EINVAL)
	}
	req := msg(pb.IrmMsgCode_IRM_UNBIND_PROGRAM)
	req.Prog = proto.String(prog)
	req.Name = proto.String(name)
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("unbind program %s from %q: %w", prog, name, err)
	}
	return nil
}

// BindProcess binds the running process pid to name, creating the name if
// needed. The process must have announced itself to the IRMd.
func (c *Client) BindProcess(ctx context.Context, pid int, name string) error {
	req := msg(pb.IrmMsgCode_IRM_BIND_PROCESS)
	req.Pid = proto.Int32(int32(pid))
	req.Name = proto.String(name)
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("bind process %d to %q: %w", pid, name, err)
	}
	return nil
}

// UnbindProcess removes the binding of process pid to name. An empty name
// gives EINVAL, as in the reference library.
func (c *Client) UnbindProcess(ctx context.Context, pid int, name string) error {
	if name == "" {
		return fmt.Errorf("unbind process %d: no name: %w", pid, oerr.EINVAL)
	}
	req := msg(pb.IrmMsgCode_IRM_UNBIND_PROCESS)
	req.Pid = proto.Int32(int32(pid))
	req.Name = proto.String(name)
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("unbind process %d from %q: %w", pid, name, err)
	}
	return nil
}

// CreateName adds a name to the IRMd's registry. Creating a name that exists
// succeeds and changes nothing.
func (c *Client) CreateName(ctx context.Context, info NameInfo) error {
	if info.Name == "" || len(info.Name) > MaxNameLen {
		return fmt.Errorf("create name: name must be 1 to %d bytes: %w", MaxNameLen, oerr.EINVAL)
	}
	req := msg(pb.IrmMsgCode_IRM_CREATE_NAME)
	req.NameInfo = &pb.NameInfoMsg{
		Name:  proto.String(info.Name),
		PolLb: proto.Uint32(uint32(info.LB)),
		Skey:  proto.String(info.ServerKey),
		Scrt:  proto.String(info.ServerCrt),
		Ckey:  proto.String(info.ClientKey),
		Ccrt:  proto.String(info.ClientCrt),
	}
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("create name %q: %w", info.Name, err)
	}
	return nil
}

// DestroyName removes a name and its bindings from the registry. It does not
// unregister the name from the layers it was registered in.
func (c *Client) DestroyName(ctx context.Context, name string) error {
	req := msg(pb.IrmMsgCode_IRM_DESTROY_NAME)
	req.Name = proto.String(name)
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("destroy name %q: %w", name, err)
	}
	return nil
}

// ListNames returns the names in the registry in byte order, with their
// load-balancing policies (the key and certificate paths are not listed). A
// long list comes in several replies (see listPages).
func (c *Client) ListNames(ctx context.Context) ([]NameInfo, error) {
	var out []NameInfo
	err := c.listPages(ctx, pb.IrmMsgCode_IRM_LIST_NAMES, func(rep *pb.IrmMsg) {
		for _, m := range rep.GetNames() {
			out = append(out, NameInfo{
				Name:      m.GetName(),
				LB:        LBPolicy(m.GetPolLb()),
				ServerKey: m.GetSkey(),
				ServerCrt: m.GetScrt(),
				ClientKey: m.GetCkey(),
				ClientCrt: m.GetCcrt(),
			})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list names: %w", err)
	}
	return out, nil
}

// RegName registers name in the layer of the IPCP with the given pid, so that
// flows for it can be allocated over that layer. The name must exist (ENAME).
func (c *Client) RegName(ctx context.Context, name string, pid int) error {
	req := msg(pb.IrmMsgCode_IRM_REG_NAME)
	req.Name = proto.String(name)
	req.Pid = proto.Int32(int32(pid))
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("register %q with IPCP %d: %w", name, pid, err)
	}
	return nil
}

// UnregName undoes RegName.
func (c *Client) UnregName(ctx context.Context, name string, pid int) error {
	req := msg(pb.IrmMsgCode_IRM_UNREG_NAME)
	req.Name = proto.String(name)
	req.Pid = proto.Int32(int32(pid))
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("unregister %q from IPCP %d: %w", name, pid, err)
	}
	return nil
}

// resolveProgram returns the absolute path of prog: made absolute against the
// working directory when it contains a '/', else the first executable match
// in $PATH. A non-executable match is skipped but reported as EPERM if no
// executable one follows.
func resolveProgram(prog string) (string, error) {
	if prog == "" {
		return "", oerr.EINVAL
	}
	if strings.Contains(prog, "/") {
		p, err := filepath.Abs(prog)
		if err != nil {
			return "", fmt.Errorf("%v: %w", err, oerr.EINVAL)
		}
		return p, checkExec(p)
	}
	var denied error
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) {
			return "", fmt.Errorf("$PATH entry %q is not absolute: %w", dir, oerr.EINVAL)
		}
		p := filepath.Join(dir, prog)
		err := checkExec(p)
		if err == nil {
			return p, nil
		}
		if denied == nil && errors.Is(err, oerr.EPERM) {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", fmt.Errorf("%s not found in $PATH: %w", prog, oerr.ENOENT)
}

// checkExec returns nil if p is a file with an execute bit, ENOENT if it does
// not exist and EPERM otherwise.
func checkExec(p string) error {
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s does not exist: %w", p, oerr.ENOENT)
	}
	if err != nil {
		return fmt.Errorf("%v: %w", err, oerr.EPERM)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable: %w", p, oerr.EPERM)
	}
	return nil
}
