package flow

import (
	"encoding/binary"
	"hash/crc32"
)

// CRC: on a flow whose QoS has ber = 0 every non-empty
// packet carries a CRC-32 (IEEE, as hash/crc32.IEEETable) of all the bytes
// before it, appended as 4 bytes big-endian; the receiver drops packets whose
// CRC does not match. Empty packets (keepalives) carry none.
//
// The reference's default build forces ber = 1 when it allocates, and so
// does Alloc here, so CRC only runs on flows from peers built otherwise.
// Unlike the reference (a quirk of its CRC), FRCT control packets and
// retransmissions carry a CRC too; the reference checks them on receipt, so
// its ACKs are lost on such flows, and ours are not.

const crcLen = 4

// appendCRC appends the CRC of pkt[1:] (pkt[0] is the channel's headroom).
func appendCRC(pkt []byte) []byte {
	return binary.BigEndian.AppendUint32(pkt, crc32.ChecksumIEEE(pkt[1:]))
}

// checkCRC strips and verifies the trailing CRC of sdu.
func checkCRC(sdu []byte) ([]byte, bool) {
	if len(sdu) < crcLen {
		return nil, false
	}
	n := len(sdu) - crcLen
	return sdu[:n], binary.BigEndian.Uint32(sdu[n:]) == crc32.ChecksumIEEE(sdu[:n])
}
