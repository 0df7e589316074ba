package main

import "strconv"

const unbindUsage = `Usage: irm unbind [OPERATION]

where OPERATION in { program process ipcp help }
`

// As for bind, the command word is the keyword of the first value.
var unbindGroup = &group{
	path:     "irm unbind",
	usage:    unbindUsage,
	keepWord: true,
	commands: []command{
		{"program", unbindProgram, unbindProgramUsage},
		{"process", unbindProcess, unbindProcessUsage},
		{"ipcp", unbindIPCP, unbindIPCPUsage},
		{"help", func(e *env, _ []string) error { return e.help(unbindUsage) }, ""},
	},
}

// The reference's usage offers to unbind from all names when no name is
// given, but its library refuses an empty name; so does ours (EINVAL, exit
// status 1).
const unbindProgramUsage = `Usage: irm unbind program <program> [name <name>]
`

func unbindProgram(e *env, args []string) error {
	var prog, name string
	ci := cmdInfo{path: "irm unbind program", usage: unbindProgramUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "program", set: store(&prog)},
		{keyword: "name", set: store(&name)},
	}); err != nil {
		return err
	}
	if prog == "" {
		return e.usage(unbindProgramUsage)
	}
	return e.c.UnbindProgram(e.ctx, prog, name)
}

const unbindProcessUsage = `Usage: irm unbind process <pid> [name <name>]
`

func unbindProcess(e *env, args []string) error {
	var pidText, name string
	ci := cmdInfo{path: "irm unbind process", usage: unbindProcessUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "process", set: store(&pidText)},
		{keyword: "name", set: store(&name)},
	}); err != nil {
		return err
	}
	if pidText == "" {
		return e.usage(unbindProcessUsage)
	}
	// The process may be gone already, so only the number is checked.
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return e.failf("\"%s\" is not a valid process id.", pidText)
	}
	return e.c.UnbindProcess(e.ctx, pid, name)
}

const unbindIPCPUsage = `Usage: irm unbind ipcp <name> name <name>
`

func unbindIPCP(e *env, args []string) error {
	return onIPCPProcess(e, args, cmdInfo{path: "irm unbind ipcp", usage: unbindIPCPUsage}, e.c.UnbindProcess)
}
