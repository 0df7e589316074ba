// Package dir is the unicast layer's directory: it maps a name's hash to
// the address of a member that registered the name. The directory is a
// Kademlia-style DHT spread over the members; its messages travel as DT
// packets to the DHT component (EID 1) of a peer, and replies go to the
// address in the sender's contact, since the DT header carries no source.
//
// # Messages
//
// A DHT message is a protobuf with a code, the sender's contact (node ID
// and address) and one part per code: STORE publishes a value (an address,
// 8 bytes big-endian) under a key with an absolute expiry in UNIX seconds;
// FIND_NODE and FIND_VALUE requests carry a key and a random cookie per
// recipient, which the responses echo together with up to k contacts near
// the key and, for FIND_VALUE, up to 8 values. Keys and node IDs are as
// long as the layer's hash (28 to 64 bytes); the distance is XOR, compared
// on the first 8 bytes and then on the rest. ParseMsg applies the checks
// every member applies before acting on a message.
//
// # The state machine
//
// Node is the DHT of one member as a sans-I/O state machine, like the
// FRCT engine: it reads no clock, starts no goroutine and touches no
// socket. Messages and the current time go in (Receive, Register,
// Unregister, Lookup, Tick); messages to send come out of Outbox, finished
// lookups out of Results, and NextDeadline is the one time at which Tick
// must run next. Randomness (node ID, cookies) comes from the caller's
// source, so a whole layer replays exactly in a test.
//
// The routing table is a standard k-bucket table indexed by the length of
// the common prefix with our ID; contacts are known by address, a silent
// contact is dropped after two unanswered requests and replaced. Values
// are stored per key: those of others until their publisher's expiry,
// ours (one per registered name) until unregistered.
//
// A lookup is iterative: up to alpha requests in flight to the nearest
// peers not yet asked, each response bringing nearer contacts, until the k
// nearest that answered are known (or, for FIND_VALUE, a value arrives).
// Unanswered requests are repeated once, then the peer is passed over, so
// lookups succeed through loss and departures. Registering stores our
// address at alpha contacts at once and, after a lookup, at the k members
// nearest the name. The bootstrap asks the enrollment peer for our own ID
// with a fixed "magic" cookie, repeated with back-off until answered, then
// refreshes every bucket farther than our nearest contact. Maintenance
// drops expired values, copies the values of others to the nearest members
// once per replication interval (by one holder, as a copy received counts
// as done), republishes our values before they expire (or as soon as we
// have contacts, if registered before), and refreshes buckets left unused.
//
// On the wire every message is what any member sends and accepts. Where the
// reference differs, it is in what it does with them: it sends only the
// first round of a lookup, sorts contacts by distance to its own ID rather
// than to the key, replicates one key per run and keeps silent contacts;
// none of this is visible to a peer.
package dir
