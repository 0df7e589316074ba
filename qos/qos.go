// Package qos defines the QoS specifications an application asks for when it
// allocates a flow, and the predefined specs of the reference implementation.
// The numeric fields travel in the IRMd protocol and in
// the layer's flow-allocation messages, so their meaning and units are fixed.
//
// What a spec switches on in the flow:
//
//	InOrder != 0  -> FRCT (ordering, flow control)
//	Loss == 0     -> retransmission and linger on close
//	BER == 0      -> CRC32 (forced off on allocation, as the reference's default build)
//	Timeout != 0  -> keepalives every Timeout/4 and a peer timeout after Timeout
package qos

import (
	"fmt"
	"math"
	"strings"
)

// Spec is a QoS specification. Units are those of the reference's qosspec_t.
type Spec struct {
	Delay        uint32 // maximum one-way delay, ms
	Bandwidth    uint64 // bit/s
	Availability uint8  // class of nines
	Loss         uint32 // packet loss tolerance; 0 = reliable
	BER          uint32 // bit errors per 10^9 bits; 0 = detect corruption
	InOrder      uint8  // 1 = in-order delivery (FRCT)
	MaxGap       uint32 // ms
	Timeout      uint32 // peer timeout, ms; 0 = no keepalive
}

// DefaultPeerTimeout is the reference's DEFAULT_PEER_TIMEOUT, in ms.
const DefaultPeerTimeout = 120000

// The predefined specs.
var (
	Raw = Spec{Delay: math.MaxUint32, Loss: 1, BER: 1, MaxGap: math.MaxUint32,
		Timeout: DefaultPeerTimeout}
	RawNoErrors = Spec{Delay: math.MaxUint32, Loss: 1, BER: 0, MaxGap: math.MaxUint32,
		Timeout: DefaultPeerTimeout}
	BestEffort = Spec{Delay: math.MaxUint32, Loss: 1, InOrder: 1, MaxGap: math.MaxUint32,
		Timeout: DefaultPeerTimeout}
	Video = Spec{Delay: 100, Bandwidth: math.MaxUint64, Availability: 3, Loss: 1, InOrder: 1,
		MaxGap: 100, Timeout: DefaultPeerTimeout}
	Voice = Spec{Delay: 50, Bandwidth: 100000, Availability: 5, Loss: 1, InOrder: 1,
		MaxGap: 50, Timeout: DefaultPeerTimeout}
	Data = Spec{Delay: 1000, Loss: 0, InOrder: 1, MaxGap: 2000, Timeout: DefaultPeerTimeout}
	// NP1 is the spec of an IPCP's end of an N+1 flow and of broadcast joins:
	// no FRCT, no CRC, no keepalive.
	NP1 = Spec{Delay: math.MaxUint32, Loss: math.MaxUint32, BER: math.MaxUint32,
		MaxGap: math.MaxUint32}
)

// names maps the tools' QoS names (oping -q, irm ipcp connect qos) to specs.
var names = []struct {
	name string
	spec Spec
}{
	{"raw", Raw}, {"best", BestEffort}, {"video", Video}, {"voice", Voice}, {"data", Data},
}

// Names lists the names ByName accepts, in the reference's order.
func Names() []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n.name
	}
	return out
}

// ByName returns the predefined spec with the given tool name
// (raw, best, video, voice, data).
func ByName(name string) (Spec, error) {
	for _, n := range names {
		if n.name == name {
			return n.spec, nil
		}
	}
	return Raw, fmt.Errorf("unknown QoS cube %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// Reliable reports whether the spec asks for retransmission (loss == 0 with FRCT).
func (s Spec) Reliable() bool { return s.InOrder != 0 && s.Loss == 0 }

// Cube is a QoS cube an IPCP schedules by.
type Cube int

// QoS cubes.
const (
	CubeBE    Cube = 0
	CubeVideo Cube = 1
	CubeVoice Cube = 2
)

// Cube maps the spec to the cube an IPCP uses for it.
func (s Spec) Cube() Cube {
	switch {
	case s.Delay <= 50 && s.Bandwidth <= 100000 && s.Availability >= 5 && s.MaxGap <= 50:
		return CubeVoice
	case s.Delay <= 100 && s.Availability >= 3 && s.MaxGap <= 100:
		return CubeVideo
	}
	return CubeBE
}
