package flow

// Flags are a flow's open flags (fccntl FLOWSFLAGS/FLOWGFLAGS). The values are
// the reference's (octal, as fcntl).
type Flags uint32

// Open flags.
const (
	FlagRdOnly   Flags = 0       // FLOWFRDONLY: Write fails with EPERM
	FlagWrOnly   Flags = 0o1     // FLOWFWRONLY
	FlagRdWr     Flags = 0o2     // FLOWFRDWR
	FlagAccMode  Flags = 0o3     // FLOWFACCMODE: access mode mask
	FlagDown     Flags = 0o4     // FLOWFDOWN: mark the flow down (the peer sees EventDown)
	FlagRNoBlock Flags = 0o1000  // FLOWFRNOBLOCK: Read returns EAGAIN instead of waiting
	FlagWNoBlock Flags = 0o2000  // FLOWFWNOBLOCK: Write returns EAGAIN instead of waiting
	FlagNonBlock Flags = 0o3000  // FLOWFNONBLOCK
	FlagRNoPart  Flags = 0o10000 // FLOWFRNOPART: no partial reads, EMSGSIZE instead
	FlagWNoPart  Flags = 0o20000 // FLOWFWNOPART: no partial writes (always the case)
	FlagDefault  Flags = 0o20002 // FLOWFDEFAULT: RdWr | WNoPart
)
