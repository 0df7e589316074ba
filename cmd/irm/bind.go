package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

const bindUsage = `Usage: irm bind [OPERATION]

where OPERATION in { program process ipcp help }
`

// The command word is also the keyword of its value: "irm bind program
// <prog> name <name>" is parsed as the pairs (program, <prog>), (name, <name>).
var bindGroup = &group{
	path:     "irm bind",
	usage:    bindUsage,
	keepWord: true,
	commands: []command{
		{"program", bindProgram, bindProgramUsage},
		{"process", bindProcess, bindProcessUsage},
		{"ipcp", bindIPCP, bindIPCPUsage},
		{"help", func(e *env, _ []string) error { return e.help(bindUsage) }, ""},
	},
}

const bindProgramUsage = `Usage: irm bind program <program>
           name <name>
           [auto] (instantiate program if not running)
           [-- <application arguments>]
`

func bindProgram(e *env, args []string) error {
	var prog, name string
	var auto bool
	var progArgs []string
	ci := cmdInfo{path: "irm bind program", usage: bindProgramUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "program", set: store(&prog)},
		{keyword: "name", set: store(&name)},
		{keyword: "auto", exact: true, flag: true, set: setTrue(&auto)},
		{keyword: "--", exact: true, rest: true, setRest: func(v []string) { progArgs = v }},
	}); err != nil {
		return err
	}
	if prog == "" || name == "" {
		return e.usage(bindProgramUsage)
	}
	// As in the reference, a program found from the working directory is
	// bound by its real path, even without a '/'; otherwise the library
	// searches $PATH. Unlike the reference, a directory of that name does not
	// hide the program in $PATH.
	path := prog
	if p, err := realpath(prog); err == nil {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			path = p
		}
	}
	err := e.c.BindProgram(e.ctx, path, name, auto, progArgs)
	switch {
	case errors.Is(err, oerr.ENOENT):
		return e.failf("%s does not exist.", prog)
	case errors.Is(err, oerr.EPERM):
		return e.failf("Cannot execute %s, please check permissions.", prog)
	}
	return err
}

// realpath is the absolute path of p with every symbolic link resolved; it
// fails if p does not exist.
func realpath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

const bindProcessUsage = `Usage: irm bind process <pid> name <name>
`

func bindProcess(e *env, args []string) error {
	var pidText, name string
	ci := cmdInfo{path: "irm bind process", usage: bindProcessUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "process", set: store(&pidText)},
		{keyword: "name", set: store(&name)},
	}); err != nil {
		return err
	}
	if pidText == "" || name == "" {
		return e.usage(bindProcessUsage)
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || !alive(pid) {
		return e.failf("\"%s\" is not a valid process id.", pidText)
	}
	return e.c.BindProcess(e.ctx, pid, name)
}

// alive reports whether a process with this pid exists; one we may not
// signal exists too.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, os.ErrPermission)
}

const bindIPCPUsage = `Usage: irm bind ipcp <name> name <name>
`

func bindIPCP(e *env, args []string) error {
	return onIPCPProcess(e, args, cmdInfo{path: "irm bind ipcp", usage: bindIPCPUsage}, e.c.BindProcess)
}

// onIPCPProcess applies op (bind or unbind process) to the pid of the IPCP
// named by the "ipcp" argument. An unknown IPCP is not an error, as in the
// reference.
func onIPCPProcess(e *env, args []string, ci cmdInfo, op func(context.Context, int, string) error) error {
	var ipcp, name string
	if err := e.parse(ci, args, []option{
		{keyword: "ipcp", set: store(&ipcp)},
		{keyword: "name", set: store(&name)},
	}); err != nil {
		return err
	}
	if ipcp == "" || name == "" {
		return e.usage(ci.usage)
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return err
	}
	if i, ok := byName(ipcps, ipcp); ok {
		return op(e.ctx, i.PID, name)
	}
	return nil
}
