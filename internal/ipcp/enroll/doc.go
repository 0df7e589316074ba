// Package enroll is enrollment, the way a new IPCP joins a unicast or
// broadcast layer through a member (OEP): the messages, and the two sides
// of the exchange (Request and SendAck for the enrollee, Serve for the
// member).
//
// The enrollee opens an N-1 flow to the member's name, does connection
// establishment for the "Enrollment" component, and sends a request with a
// random 8-byte id. The member answers with the same id, its wall-clock
// time, 0 (accepted) and the whole layer configuration, which the enrollee
// adopts (layer name, hash algorithm, address size, TTL, routing and
// directory parameters, and as directory bootstrap peer the member's
// address). The enrollee starts its components, acknowledges with the id and
// 0, and closes the flow. Each message is one protobuf SDU of at most 1024
// bytes.
//
// The parsers check the id length in all three messages (the reference
// checks it only in the request) and that an accepting response carries a
// configuration.
package enroll
