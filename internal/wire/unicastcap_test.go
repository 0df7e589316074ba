package wire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// The unicast-layer capture (testdata/udp-uni.pcapng) is two reference
// IPCPs, uni1 (address 0xe4c46f9c) and uni2 (0xf439b061), forming a unicast
// layer "uni" over a udp4 layer on 127.0.0.1: uni2 enrolls through uni1,
// connects a Data Transfer and a Management flow to it, publishes the name
// "oping.uni", and carries a raw and an FRCT oping flow. Every UDP payload
// starts with the udp4 layer's 4-byte EID.
const (
	uni1Addr = 0xe4c46f9c
	uni2Addr = 0xf439b061
)

// uniFrameKind says what each frame 9..49 of the capture carries above the
// udp4 EID.
var uniFrameKind = map[int]string{
	9: "udp", 10: "udp", 16: "udp", 17: "udp", 20: "udp", 21: "udp",
	11: "cep", 12: "cep", 18: "cep", 19: "cep", 22: "cep", 23: "cep",
	13: "enroll_req", 14: "enroll_resp", 15: "enroll_ack",
	24: "lsu", 25: "lsu",
	26: "dht", 27: "dht", 28: "dht", 29: "dht", 30: "dht",
	31: "fa", 32: "fa", 39: "fa", 40: "fa",
	33: "data", 34: "data", 35: "data", 36: "data", 37: "data", 38: "data",
	41: "data", 42: "data", 43: "data", 44: "data", 45: "data", 46: "data",
	47: "data", 48: "data", 49: "data",
}

// reencode unmarshals b into m (required fields enforced, as the reference's
// protobuf-c does) and checks that marshalling gives b back.
func reencode(t *testing.T, b []byte, m proto.Message) {
	t.Helper()
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatalf("unmarshal %T: %v\n%x", m, err, b)
	}
	got, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	if !bytes.Equal(got, b) {
		t.Fatalf("%T re-encodes as\n%x\nwant\n%x", m, got, b)
	}
}

// TestUnicastCapture decodes every frame of the unicast layer's life in the
// capture and re-encodes it byte for byte: OCEP, OEP, LSU, DHT, flow
// allocator messages and DT PCIs.
func TestUnicastCapture(t *testing.T) {
	frames := uniFrames(t)
	for n := 9; n <= 49; n++ {
		kind := uniFrameKind[n]
		payload := frames[n]
		udpEID, body, err := ParseUDPEID(payload)
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		var enc []byte
		switch kind {
		case "udp":
			m, err := ParseUDPMgmt(payload)
			if err != nil {
				t.Fatalf("frame %d: %v", n, err)
			}
			enc = m.Append(nil)
		case "cep":
			reencode(t, body, &pb.CepMsg{})
			enc = AppendUDPEID(nil, udpEID)
			enc = append(enc, body...)
		case "enroll_req":
			reencode(t, body, &pb.EnrollReqMsg{})
			enc = payload
		case "enroll_resp":
			reencode(t, body, &pb.EnrollRespMsg{})
			enc = payload
		case "enroll_ack":
			reencode(t, body, &pb.EnrollAckMsg{})
			enc = payload
		case "lsu":
			u, err := ParseLSU(body)
			if err != nil {
				t.Fatalf("frame %d: %v", n, err)
			}
			enc = u.Append(AppendUDPEID(nil, udpEID))
		case "dht", "fa", "data":
			pci, sdu, err := ParseDT(body)
			if err != nil {
				t.Fatalf("frame %d: %v", n, err)
			}
			if pci.QoS != DTQoSBE || pci.TTL != DTDefaultTTL || pci.ECN != 0 {
				t.Errorf("frame %d: PCI %+v, want cube 0, TTL 60, ECN 0", n, pci)
			}
			if pci.Dst != uni1Addr && pci.Dst != uni2Addr {
				t.Errorf("frame %d: destination %#x is neither node", n, pci.Dst)
			}
			enc = pci.Append(AppendUDPEID(nil, udpEID))
			switch kind {
			case "dht":
				if pci.EID != DTEIDDHT {
					t.Errorf("frame %d: EID %d, want the DHT's", n, pci.EID)
				}
				reencode(t, sdu, &pb.DhtMsg{})
				enc = append(enc, sdu...)
			case "fa":
				if pci.EID != DTEIDFlowAllocator {
					t.Errorf("frame %d: EID %d, want the flow allocator's", n, pci.EID)
				}
				m, err := ParseFA(sdu, 32)
				if err != nil {
					t.Fatalf("frame %d: %v", n, err)
				}
				enc = m.Append(enc)
			case "data":
				if pci.EID < DTEIDFirstFlow || pci.EID&0xffffffff < DTEIDFirstFlow {
					t.Errorf("frame %d: EID %#x is not a flow's", n, pci.EID)
				}
				enc = append(enc, sdu...)
			}
		default:
			t.Fatalf("frame %d: no kind", n)
		}
		if !bytes.Equal(enc, payload) {
			t.Errorf("frame %d (%s) re-encodes as\n%x\nwant\n%x", n, kind, enc, payload)
		}
	}
}

// TestUnicastCaptureValues checks the decoded values the capture's
// annotations give, so that a decoder that re-encodes what it misread
// still fails.
func TestUnicastCaptureValues(t *testing.T) {
	frames := uniFrames(t)
	body := func(n int) []byte { return frames[n][UDPEIDLen:] }

	// OCEP: the enrollee has no address yet; DT and Management carry each
	// node's address.
	ceps := []struct {
		n               int
		comp, proto     string
		version, syntax int32
		addr            uint64
	}{
		{11, "Enrollment", "OEP", 1, 0, 0},
		{12, "Enrollment", "OEP", 1, 0, 0},
		{18, "Data Transfer", "dtp", 1, 2, uni2Addr},
		{19, "Data Transfer", "dtp", 1, 2, uni1Addr},
		{22, "Management", "LSP", 1, 0, uni2Addr},
		{23, "Management", "LSP", 1, 0, uni1Addr},
	}
	for _, c := range ceps {
		var m pb.CepMsg
		if err := proto.Unmarshal(body(c.n), &m); err != nil {
			t.Fatal(err)
		}
		if m.GetCompName() != c.comp || m.GetProtocol() != c.proto || m.GetPrefVersion() != c.version ||
			m.GetPrefSyntax() != c.syntax || m.GetAddress() != c.addr {
			t.Errorf("frame %d: %v", c.n, &m)
		}
	}

	// OEP: request id, response with the layer configuration, ack 0.
	id := mustHex(t, "0306c5618072bb73")
	var req pb.EnrollReqMsg
	var resp pb.EnrollRespMsg
	var ack pb.EnrollAckMsg
	for n, m := range map[int]proto.Message{13: &req, 14: &resp, 15: &ack} {
		if err := proto.Unmarshal(body(n), m); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(req.GetId(), id) || !bytes.Equal(resp.GetId(), id) || !bytes.Equal(ack.GetId(), id) ||
		resp.GetResponse() != 0 || ack.GetResult() != 0 {
		t.Errorf("OEP ids/results: %v / %v / %v", &req, &resp, &ack)
	}
	conf := resp.GetConf()
	uni := conf.GetUnicast()
	dt, ls, dht := uni.GetDt(), uni.GetDt().GetRouting().GetLs(), uni.GetDir().GetDht()
	if conf.GetLayerInfo().GetName() != "uni" || conf.GetLayerInfo().GetDirHashAlgo() != 1 || conf.GetIpcpType() != 1 ||
		dt.GetAddrSize() != 4 || dt.GetEidSize() != 8 || dt.GetMaxTtl() != 60 ||
		dt.GetRouting().GetPol() != 0 || ls.GetPol() != 0 || ls.GetTRecalc() != 4 || ls.GetTUpdate() != 15 || ls.GetTTimeo() != 60 ||
		uni.GetDir().GetPol() != 0 || dht.GetAlpha() != 3 || dht.GetK() != 8 || dht.GetTExpire() != 86400 ||
		dht.GetTRefresh() != 900 || dht.GetTReplicate() != 900 || dht.GetPeer() != uni1Addr ||
		uni.GetAddrAuthType() != 0 || uni.GetCongAvoid() != 1 {
		t.Errorf("enrollment configuration: %v", conf)
	}

	// LSUs: each node announces its adjacency to the other, seqno 0.
	for n, want := range map[int]LSU{24: {Dst: uni1Addr, Src: uni2Addr}, 25: {Dst: uni2Addr, Src: uni1Addr}} {
		if u, err := ParseLSU(body(n)); err != nil || u != want {
			t.Errorf("frame %d: %+v, %v; want %+v", n, u, err, want)
		}
	}

	// DHT: uni2 seeds with a FIND_NODE_REQ for its own ID, uni1 answers
	// with one contact (uni2 itself), then uni2 publishes "oping.uni".
	var find, rsp, store pb.DhtMsg
	for n, m := range map[int]*pb.DhtMsg{26: &find, 28: &rsp, 30: &store} {
		if err := proto.Unmarshal(body(n)[DTPCILen:], m); err != nil {
			t.Fatal(err)
		}
	}
	uni2ID := find.GetSrc().GetId()
	if find.GetCode() != 1 || find.GetSrc().GetAddr() != uni2Addr || len(uni2ID) != 32 ||
		!bytes.Equal(find.GetFind().GetKey(), uni2ID) || find.GetFind().GetCookie() == 0 {
		t.Errorf("FIND_NODE_REQ: %v", &find)
	}
	if rsp.GetCode() != 2 || rsp.GetSrc().GetAddr() != uni1Addr || rsp.GetNode().GetCookie() != find.GetFind().GetCookie() ||
		!bytes.Equal(rsp.GetNode().GetKey(), uni2ID) || len(rsp.GetNode().GetContacts()) != 1 ||
		rsp.GetNode().GetContacts()[0].GetAddr() != uni2Addr {
		t.Errorf("FIND_NODE_RSP: %v", &rsp)
	}
	opingUni := mustHex(t, "90a73f1fe395569d3a82407988f4ac721790514fda8681e1478bc93bd3235982")
	if store.GetCode() != 0 || !bytes.Equal(store.GetStore().GetKey(), opingUni) ||
		!bytes.Equal(store.GetStore().GetVal(), binary.BigEndian.AppendUint64(nil, uni2Addr)) || store.GetStore().GetExp() == 0 {
		t.Errorf("STORE: %v", &store)
	}

	// Flow allocation of the raw oping flow (frames 31/32) and its data.
	req31, err := ParseFA(body(31)[DTPCILen:], 32)
	if err != nil {
		t.Fatal(err)
	}
	if req31.Code != FAFlowReq || req31.SAddr != uni1Addr || req31.REID != 0 || req31.SEID != 0xd263f73f00000042 ||
		req31.Delay != 0xffffffff || req31.Loss != 1 || req31.BER != 1 || req31.MaxGap != 0xffffffff ||
		req31.Timeout != 120000 || !bytes.Equal(req31.Hash, opingUni) || len(req31.Data) != 36 {
		t.Errorf("FLOW_REQ: %+v", req31)
	}
	rep32, err := ParseFA(body(32)[DTPCILen:], 32)
	if err != nil {
		t.Fatal(err)
	}
	if rep32.Code != FAFlowReply || rep32.SAddr != 0 || rep32.REID != req31.SEID || rep32.SEID != 0x6f995cb500000042 ||
		rep32.Response != 0 || rep32.Hash != nil || len(rep32.Data) != 84 {
		t.Errorf("FLOW_REPLY: %+v", rep32)
	}
	if pci := DT(body(33)).Fields(); pci.Dst != uni2Addr || pci.EID != rep32.SEID {
		t.Errorf("frame 33 PCI %+v, want the responder's flow", pci)
	}
	if pci := DT(body(34)).Fields(); pci.Dst != uni1Addr || pci.EID != req31.SEID {
		t.Errorf("frame 34 PCI %+v, want the requester's flow", pci)
	}
	// The FRCT flow: its data PDUs carry an FRCT header after the PCI.
	if f, err := ParseFRCT(DT(body(41)).Payload()); err != nil || f.Seqno != 0xebac3780 || f.Flags != FRCTData|FRCTDRF {
		t.Errorf("frame 41 FRCT %+v, %v", f, err)
	}
}
