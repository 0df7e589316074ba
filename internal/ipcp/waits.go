package ipcp

import "time"

// FlowReqArrWait bounds how long an IPCP waits for the IRMd to decide on a
// flow request that came from the layer (and to take an allocation reply).
// The IRMd holds such a request for up to 15 s while the processes bound to
// the name are busy (a loaded server re-arms its accept late), so the IPCP
// waits longer than that: giving up first would refuse on the wire a request
// that the IRMd still holds and would hand to the server. It stays below the
// 20 s a requesting IRMd waits for the answer by default.
const FlowReqArrWait = 17 * time.Second
