package ctrl_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// fuzzDecode checks, for arbitrary bytes, that unmarshalling never panics and
// that whatever decodes re-marshals (all required fields are present, or it
// would not have decoded), decodes again to an equal message, and marshals to
// the same bytes the second time (marshalling is canonical after one pass).
func fuzzDecode(t *testing.T, data []byte, newMsg func() proto.Message) {
	m1 := newMsg()
	if err := proto.Unmarshal(data, m1); err != nil {
		return
	}
	b1, err := proto.Marshal(m1)
	if err != nil {
		t.Fatalf("decoded message does not marshal: %v\n%v", err, m1)
	}
	m2 := newMsg()
	if err := proto.Unmarshal(b1, m2); err != nil {
		t.Fatalf("re-marshalled message does not decode: %v\n%x", err, b1)
	}
	if !proto.Equal(m1, m2) {
		t.Fatalf("round trip changed the message:\n%v\n%v", m1, m2)
	}
	b2, err := proto.Marshal(m2)
	if err != nil {
		t.Fatalf("second marshal: %v", err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("marshalling is not stable:\n%x\n%x", b1, b2)
	}
	if len(b1) > len(data)+len(data)/2+16 {
		// Re-encoding can only drop redundancy (repeated singular fields,
		// overlong varints), never add much.
		t.Fatalf("re-marshalled %d bytes from %d", len(b1), len(data))
	}
}

func FuzzDecodeIrmMsg(f *testing.F) {
	for _, c := range irmMessages() {
		b, err := proto.Marshal(c.msg)
		if err != nil {
			f.Fatalf("%s: %v", c.name, err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x1b, 0xc8, 0x01, 0xdd, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, data, func() proto.Message { return &pb.IrmMsg{} })
	})
}

func FuzzDecodeIpcpMsg(f *testing.F) {
	for _, c := range ipcpMessages() {
		b, err := proto.Marshal(c.msg)
		if err != nil {
			f.Fatalf("%s: %v", c.name, err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x0c, 0x70, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, data, func() proto.Message { return &pb.IpcpMsg{} })
	})
}
