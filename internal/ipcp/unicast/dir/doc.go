// Package dir is the unicast layer's directory: it maps a name's hash to
// the address of a member that registered the name. The directory is a
// Kademlia-style DHT spread over the members; its messages travel as DT
// packets to the DHT component (EID 1) of a peer.
//
// For now the package holds the messages. A DHT message is a protobuf with
// a code, the sender's contact (node ID and address) and one part per code:
// STORE publishes a value (an address, 8 bytes big-endian) under a key with
// an absolute expiry; FIND_NODE and FIND_VALUE requests carry a key and a
// random cookie per recipient, which the responses echo together with up to
// k contacts near the key and, for FIND_VALUE, up to 8 values. Keys and node
// IDs are as long as the layer's hash (28 to 64 bytes); distances are XOR on
// their first 8 bytes.
//
// ParseMsg applies the checks every member applies before acting on a
// message, so the DHT state machine only sees well-formed ones.
package dir
