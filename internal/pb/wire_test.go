package pb_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// unhex decodes hex with spaces, "|" separators and comments after "#" on
// each line.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.NewReplacer(" ", "", "\t", "", "|", "").Replace(line)
		clean.WriteString(line)
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// rawQoS is the raw cube with every required field set.
func rawQoS() *pb.QosspecMsg {
	return &pb.QosspecMsg{Delay: proto.Uint32(math.MaxUint32), Bandwidth: proto.Uint64(0),
		Availability: proto.Uint32(0), Loss: proto.Uint32(1), Ber: proto.Uint32(1), InOrder: proto.Uint32(0),
		MaxGap: proto.Uint32(math.MaxUint32), Timeout: proto.Uint32(120000)}
}

// The exact bytes of small messages, computed by hand from the field numbers
// and types of the reference's messages (tag = number<<3 | wire type; varints
// little-endian base 128; sint32 zigzag; int32 negatives sign-extended to 10
// bytes). A wrong field number or integer type changes these bytes.
func TestWireBytes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		msg  proto.Message
		hex  string
	}{
		{
			"irm_msg PROC_ANNOUNCE pid 1234 prog oping",
			&pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE.Enum(), Pid: proto.Int32(1234), Prog: proto.String("oping")},
			`08 0b               # 1 code varint = 11
			 12 05 6f70696e67    # 2 prog bytes "oping"
			 18 a4 13            # 3 pid sint32: zigzag(1234) = 2468`,
		},
		{
			"irm_msg PROC_EXIT pid -1",
			&pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_EXIT.Enum(), Pid: proto.Int32(-1)},
			`08 0c | 18 01       # sint32 -1 -> zigzag 1`,
		},
		{
			"irm_msg IRM_REPLY result -1007 with flow_info",
			&pb.IrmMsg{
				Code: pb.IrmMsgCode_IRM_REPLY.Enum(),
				FlowInfo: &pb.FlowInfoMsg{Id: proto.Uint32(1), NPid: proto.Uint32(1234), N_1Pid: proto.Uint32(math.MaxUint32),
					Mpl: proto.Uint32(1), State: proto.Uint32(3), Qos: rawQoS(), Uid: proto.Uint32(1000)},
				Result: proto.Int32(-1007),
			},
			`08 1b                   # 1 code = 27 IRM_REPLY
			 2a 2e                   # 5 flow_info, 46 bytes
			   08 01                 #   1 id = 1
			   10 d2 09              #   2 n_pid = 1234 (uint32)
			   18 ff ff ff ff 0f     #   3 n_1_pid = 0xffffffff (a gone side, -1)
			   20 01                 #   4 mpl = 1
			   28 03                 #   5 state = 3 ALLOCATED
			   32 1a                 #   6 qos, 26 bytes
			     08 ff ff ff ff 0f   #     1 delay = UINT32_MAX
			     10 00               #     2 bandwidth = 0 (required: present)
			     18 00               #     3 availability
			     20 01               #     4 loss = 1
			     28 01               #     5 ber = 1
			     30 00               #     6 in_order
			     38 ff ff ff ff 0f   #     7 max_gap = UINT32_MAX
			     40 c0 a9 07         #     8 timeout = 120000
			   38 e8 07              #   7 uid = 1000
			 c8 01 dd 0f             # 25 result sint32: zigzag(-1007) = 2013`,
		},
		{
			"irm_msg BIND_PROGRAM",
			&pb.IrmMsg{Code: pb.IrmMsgCode_IRM_BIND_PROGRAM.Enum(), Name: proto.String("n"),
				Exec: []string{"/bin/a", "x"}, Opts: proto.Uint32(1)},
			`08 09                  # 1 code = 9
			 22 01 6e               # 4 name "n"
			 4a 06 2f62696e2f61     # 9 exec "/bin/a"
			 4a 01 78               # 9 exec "x"
			 80 01 01               # 16 opts = 1 (two-byte tag)`,
		},
		{
			"irm_msg FLOW_DEALLOC timeo 2.5 s",
			&pb.IrmMsg{Code: pb.IrmMsgCode_IRM_FLOW_DEALLOC.Enum(),
				Timeo: &pb.TimespecMsg{TvSec: proto.Uint64(2), TvNsec: proto.Uint32(500000000)}},
			`08 17                  # 1 code = 23
			 9a 01 08               # 19 timeo, 8 bytes
			   08 02                #   1 tv_sec = 2
			   10 80 ca b5 ee 01    #   2 tv_nsec = 500000000`,
		},
		{
			"irm_msg reply with cipher and key",
			&pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(), Response: proto.Int32(-1),
				Result: proto.Int32(0), SymKey: []byte{0xaa, 0xbb}, CipherNid: proto.Int32(1016)},
			`08 1b
			 50 01                  # 10 response sint32 -1
			 c8 01 00               # 25 result = 0 (set, so present)
			 d2 01 02 aabb          # 26 sym_key bytes
			 d8 01 f0 0f            # 27 cipher_nid sint32: zigzag(1016) = 2032`,
		},
		{
			"ipcp_msg IPCP_REPLY result -1",
			&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_REPLY.Enum(), Result: proto.Int32(-1)},
			`08 0c                          # 1 code = 12
			 70 ff ff ff ff ff ff ff ff ff 01 # 14 result int32 -1: 10-byte varint`,
		},
		{
			"ipcp_msg FLOW_DEALLOC",
			&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_DEALLOC.Enum(), FlowId: proto.Int32(7), TimeoSec: proto.Uint32(3)},
			`08 09 | 18 07 | 60 03  # 3 flow_id int32, 12 timeo_sec uint32`,
		},
		{
			"ipcp_msg FLOW_ALLOC_RESP",
			&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_ALLOC_RESP.Enum(), FlowId: proto.Int32(9),
				Pid: proto.Int32(1234), Response: proto.Int32(-1008), Uid: proto.Uint32(math.MaxUint32)},
			`08 08                               # 1 code = 8
			 18 09                               # 3 flow_id = 9
			 40 d2 09                            # 8 pid int32 = 1234
			 50 90 f8 ff ff ff ff ff ff ff 01    # 10 response int32 -1008, sign-extended
			 78 ff ff ff ff 0f                   # 15 uid uint32 = UINT32_MAX`,
		},
		{
			"ipcp_msg mpl sint32",
			&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_REPLY.Enum(), Mpl: proto.Int32(-2)},
			`08 0c | 68 03          # 13 mpl sint32 -2 -> zigzag 3`,
		},
		{
			"layer_info_msg",
			&pb.LayerInfoMsg{Name: proto.String("x"), DirHashAlgo: proto.Uint32(1)},
			`0a 01 78 | 10 01`,
		},
		{
			"udp4_config_msg 127.0.0.1:3435",
			&pb.Udp4ConfigMsg{IpAddr: proto.Uint32(0x0100007f), Port: proto.Uint32(3435), DnsAddr: proto.Uint32(0)},
			`08 ff 80 80 08         # 1 ip_addr = 0x0100007f (s_addr read little-endian)
			 10 eb 1a               # 2 port = 3435
			 18 00                  # 3 dns_addr = 0`,
		},
		{
			"ipcp_list_msg",
			&pb.IpcpListMsg{Pid: proto.Uint32(5), Type: proto.Uint32(1), Name: proto.String("a"),
				Layer: proto.String("b"), HashAlgo: proto.Uint32(3)},
			`08 05 | 10 01 | 1a 01 61 | 22 01 62 | 28 03`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, c.hex)
			got, err := proto.Marshal(c.msg)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal =\n %x\nwant\n %x", got, want)
			}
			// And the bytes decode to the same message.
			back := c.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(want, back); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !proto.Equal(back, c.msg) {
				t.Errorf("Unmarshal = %v, want %v", back, c.msg)
			}
		})
	}
}

// proto2 required fields: a message without one does not decode (the C side
// would refuse it too), and does not encode either.
func TestRequiredFields(t *testing.T) {
	t.Parallel()
	partial := proto.MarshalOptions{AllowPartial: true}
	fullFlow := func() *pb.FlowInfoMsg {
		return &pb.FlowInfoMsg{Id: proto.Uint32(1), NPid: proto.Uint32(2), N_1Pid: proto.Uint32(3),
			Mpl: proto.Uint32(4), State: proto.Uint32(5), Qos: rawQoS(), Uid: proto.Uint32(6)}
	}
	noUID := fullFlow()
	noUID.Uid = nil
	noLoss := fullFlow()
	noLoss.Qos.Loss = nil
	cases := []struct {
		name string
		msg  proto.Message
	}{
		{"irm_msg without code", &pb.IrmMsg{Pid: proto.Int32(1), Prog: proto.String("p")}},
		{"flow_info without uid", &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(), FlowInfo: noUID}},
		{"qosspec without loss", &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(), FlowInfo: noLoss}},
		{"flow_info without qos", &pb.FlowInfoMsg{Id: proto.Uint32(1), NPid: proto.Uint32(2), N_1Pid: proto.Uint32(3),
			Mpl: proto.Uint32(4), State: proto.Uint32(5), Uid: proto.Uint32(6)}},
		{"timespec without tv_nsec", &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_FLOW_DEALLOC.Enum(),
			Timeo: &pb.TimespecMsg{TvSec: proto.Uint64(1)}}},
		{"ipcp_list without hash_algo", &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(),
			Ipcps: []*pb.IpcpListMsg{{Pid: proto.Uint32(1), Type: proto.Uint32(1), Name: proto.String("a"), Layer: proto.String("b")}}}},
		{"name_info without ccrt", &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_CREATE_NAME.Enum(),
			NameInfo: &pb.NameInfoMsg{Name: proto.String("n"), PolLb: proto.Uint32(0), Skey: proto.String(""),
				Scrt: proto.String(""), Ckey: proto.String("")}}},
		{"ipcp_msg without code", &pb.IpcpMsg{Result: proto.Int32(0)}},
		{"layer_info without algo", &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_REPLY.Enum(),
			LayerInfo: &pb.LayerInfoMsg{Name: proto.String("l")}}},
		{"ipcp_config without type", &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_BOOTSTRAP.Enum(),
			Conf: &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: proto.String("l"), DirHashAlgo: proto.Uint32(1)}}}},
		{"eth_config without ethertype", &pb.IpcpConfigMsg{IpcpType: proto.Uint32(4),
			LayerInfo: &pb.LayerInfoMsg{Name: proto.String("l"), DirHashAlgo: proto.Uint32(1)},
			Eth:       &pb.EthConfigMsg{Dev: proto.String("eth0")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := proto.Marshal(c.msg); err == nil {
				t.Error("Marshal accepted a message missing a required field")
			}
			b, err := partial.Marshal(c.msg)
			if err != nil {
				t.Fatalf("partial Marshal: %v", err)
			}
			back := c.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b, back); err == nil {
				t.Errorf("Unmarshal accepted %x, which lacks a required field", b)
			}
			if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(b, back); err != nil {
				t.Errorf("partial Unmarshal: %v", err)
			}
		})
	}
	// By hand: prog and pid, no code.
	if err := proto.Unmarshal(unhex(t, "12 05 6f70696e67 18 a4 13"), &pb.IrmMsg{}); err == nil {
		t.Error("irm_msg without code decoded")
	}
	// Empty values are fine for required fields: present is what counts.
	empty := &pb.LayerInfoMsg{Name: proto.String(""), DirHashAlgo: proto.Uint32(0)}
	b, err := proto.Marshal(empty)
	if err != nil || !bytes.Equal(b, []byte{0x0a, 0x00, 0x10, 0x00}) {
		t.Errorf("Marshal(empty required fields) = %x, %v; want 0a001000", b, err)
	}
}

// Unknown fields (a newer peer's additions) are tolerated and kept.
func TestUnknownFieldsTolerated(t *testing.T) {
	t.Parallel()
	// irm_msg{code=27, result=0} followed by field 100 (varint 5) and field 101 (bytes "hi").
	in := unhex(t, "08 1b c8 01 00 | a0 06 05 | aa 06 02 6869")
	m := &pb.IrmMsg{}
	if err := proto.Unmarshal(in, m); err != nil {
		t.Fatalf("Unmarshal with unknown fields: %v", err)
	}
	if m.GetCode() != pb.IrmMsgCode_IRM_REPLY || m.Result == nil || m.GetResult() != 0 {
		t.Errorf("decoded %v", m)
	}
	out, err := proto.Marshal(m)
	if err != nil || !bytes.Equal(out, in) {
		t.Errorf("re-marshalled %x, %v; want the unknown fields kept: %x", out, err, in)
	}
}
