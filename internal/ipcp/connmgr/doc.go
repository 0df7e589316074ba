// Package connmgr is the connection manager of the unicast (and broadcast)
// IPCP: it opens and accepts the N-1 flows an IPCP uses to talk to its
// neighbours, one flow per component (Data Transfer, Management,
// Enrollment), and tells the components when such a connection comes or
// goes.
//
// The Manager runs OCEP, the connection establishment exchange, as
// initiator (Connect) and responder (Serve); connmgrtest has in-memory
// flows and lower layers for tests. The first SDU each way on a new N-1
// flow is an OCEP message (a protobuf, at most 128 bytes) naming the
// component and the sender's protocol, version, concrete syntax and layer
// address:
//
//	component      protocol  version  syntax  address
//	Data Transfer  dtp       1        fixed   own address
//	Management     LSP       1        GPB     own address
//	Enrollment     OEP       1        GPB     0
//	Data Transfer  ""        0        GPB     0              (broadcast IPCP)
//
// The initiator sends first and checks that the answer has its protocol,
// version and syntax; the responder does not check, and answers a
// component it does not have with an all-zero message before closing the
// flow. A neighbour's address, which routing needs, comes from this
// exchange.
package connmgr
