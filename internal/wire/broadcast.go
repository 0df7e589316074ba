package wire

// BroadcastMTU is the largest SDU a broadcast layer carries, in bytes. A
// broadcast layer has no header of its own: the SDU on its N-1 flows is
// the application's message, unchanged. The reference's members read at
// most this many bytes and drop longer packets.
const BroadcastMTU = 1400
