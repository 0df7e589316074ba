// Package hash computes the directory hash of a name for a layer:
// the hash is taken over the name's bytes, without a
// terminator, with the layer's algorithm.
package hash

import (
	"crypto/md5"
	"crypto/sha3"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
)

// Algo is a directory hash algorithm; the values travel in layer_info_msg.
type Algo uint32

// Algorithms (include/ouroboros/hash.h in the reference).
const (
	SHA3_224 Algo = 0
	SHA3_256 Algo = 1
	SHA3_384 Algo = 2
	SHA3_512 Algo = 3
	CRC32    Algo = 4
	MD5      Algo = 5
)

// Len is the digest length in bytes, or 0 for an unknown algorithm.
func (a Algo) Len() int {
	switch a {
	case SHA3_224:
		return 28
	case SHA3_256:
		return 32
	case SHA3_384:
		return 48
	case SHA3_512:
		return 64
	case CRC32:
		return 4
	case MD5:
		return 16
	}
	return 0
}

func (a Algo) String() string {
	switch a {
	case SHA3_224:
		return "SHA3_224"
	case SHA3_256:
		return "SHA3_256"
	case SHA3_384:
		return "SHA3_384"
	case SHA3_512:
		return "SHA3_512"
	case CRC32:
		return "CRC32"
	case MD5:
		return "MD5"
	}
	return fmt.Sprintf("hash(%d)", uint32(a))
}

// Sum hashes name with algorithm a. An unknown algorithm gives an error.
func Sum(a Algo, name string) ([]byte, error) {
	b := []byte(name)
	switch a {
	case SHA3_224:
		s := sha3.Sum224(b)
		return s[:], nil
	case SHA3_256:
		s := sha3.Sum256(b)
		return s[:], nil
	case SHA3_384:
		s := sha3.Sum384(b)
		return s[:], nil
	case SHA3_512:
		s := sha3.Sum512(b)
		return s[:], nil
	case CRC32:
		return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)), nil
	case MD5:
		s := md5.Sum(b)
		return s[:], nil
	}
	return nil, fmt.Errorf("unknown hash algorithm %d", uint32(a))
}

// Short formats the first 4 bytes of a hash as lowercase hex, as the reference
// logs hashes (HASH_FMT32).
func Short(h []byte) string {
	if len(h) > 4 {
		h = h[:4]
	}
	return hex.EncodeToString(h)
}
