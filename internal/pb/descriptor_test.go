package pb_test

import (
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/ouroboros-go/ouroboros/internal/pb"
)

// wireSpec is the reference's IRMd and IPCP messages transcribed: one line per field,
// "message number name type label". A type is a scalar kind or the full name
// of a message or enum.
const wireSpec = `
o7s.qosspec_msg 1 delay uint32 required
o7s.qosspec_msg 2 bandwidth uint64 required
o7s.qosspec_msg 3 availability uint32 required
o7s.qosspec_msg 4 loss uint32 required
o7s.qosspec_msg 5 ber uint32 required
o7s.qosspec_msg 6 in_order uint32 required
o7s.qosspec_msg 7 max_gap uint32 required
o7s.qosspec_msg 8 timeout uint32 required

o7s.flow_info_msg 1 id uint32 required
o7s.flow_info_msg 2 n_pid uint32 required
o7s.flow_info_msg 3 n_1_pid uint32 required
o7s.flow_info_msg 4 mpl uint32 required
o7s.flow_info_msg 5 state uint32 required
o7s.flow_info_msg 6 qos o7s.qosspec_msg required
o7s.flow_info_msg 7 uid uint32 required

o7s.name_info_msg 1 name string required
o7s.name_info_msg 2 pol_lb uint32 required
o7s.name_info_msg 3 skey string required
o7s.name_info_msg 4 scrt string required
o7s.name_info_msg 5 ckey string required
o7s.name_info_msg 6 ccrt string required

o7s.layer_info_msg 1 name string required
o7s.layer_info_msg 2 dir_hash_algo uint32 required

o7s.ipcp_info_msg 1 type uint32 required
o7s.ipcp_info_msg 2 name string required
o7s.ipcp_info_msg 3 pid uint32 required
o7s.ipcp_info_msg 4 state uint32 required

o7s.ls_config_msg 1 pol uint32 required
o7s.ls_config_msg 2 t_recalc uint32 required
o7s.ls_config_msg 3 t_update uint32 required
o7s.ls_config_msg 4 t_timeo uint32 required

o7s.routing_config_msg 1 pol uint32 required
o7s.routing_config_msg 2 ls o7s.ls_config_msg optional

o7s.dt_config_msg 1 addr_size uint32 required
o7s.dt_config_msg 2 eid_size uint32 required
o7s.dt_config_msg 3 max_ttl uint32 required
o7s.dt_config_msg 4 routing o7s.routing_config_msg required

o7s.dir_dht_config_msg 1 alpha uint32 required
o7s.dir_dht_config_msg 2 k uint32 required
o7s.dir_dht_config_msg 3 t_expire uint32 required
o7s.dir_dht_config_msg 4 t_refresh uint32 required
o7s.dir_dht_config_msg 5 t_replicate uint32 required
o7s.dir_dht_config_msg 6 peer uint64 required

o7s.dir_config_msg 1 pol uint32 required
o7s.dir_config_msg 2 dht o7s.dir_dht_config_msg optional

o7s.uni_config_msg 1 dt o7s.dt_config_msg required
o7s.uni_config_msg 2 dir o7s.dir_config_msg required
o7s.uni_config_msg 3 addr_auth_type uint32 required
o7s.uni_config_msg 4 cong_avoid uint32 required

o7s.eth_config_msg 1 dev string required
o7s.eth_config_msg 2 ethertype uint32 required

o7s.udp4_config_msg 1 ip_addr uint32 required
o7s.udp4_config_msg 2 port uint32 required
o7s.udp4_config_msg 3 dns_addr uint32 required

o7s.udp6_config_msg 1 ip_addr bytes required
o7s.udp6_config_msg 2 port uint32 required
o7s.udp6_config_msg 3 dns_addr bytes required

o7s.ipcp_config_msg 1 layer_info o7s.layer_info_msg required
o7s.ipcp_config_msg 2 ipcp_type uint32 required
o7s.ipcp_config_msg 3 unicast o7s.uni_config_msg optional
o7s.ipcp_config_msg 4 udp4 o7s.udp4_config_msg optional
o7s.ipcp_config_msg 5 udp6 o7s.udp6_config_msg optional
o7s.ipcp_config_msg 6 eth o7s.eth_config_msg optional

o7s.irm.timespec_msg 1 tv_sec uint64 required
o7s.irm.timespec_msg 2 tv_nsec uint32 required

o7s.irm.ipcp_list_msg 1 pid uint32 required
o7s.irm.ipcp_list_msg 2 type uint32 required
o7s.irm.ipcp_list_msg 3 name string required
o7s.irm.ipcp_list_msg 4 layer string required
o7s.irm.ipcp_list_msg 5 hash_algo uint32 required

o7s.irm.irm_msg 1 code o7s.irm.irm_msg_code required
o7s.irm.irm_msg 2 prog string optional
o7s.irm.irm_msg 3 pid sint32 optional
o7s.irm.irm_msg 4 name string optional
o7s.irm.irm_msg 5 flow_info o7s.flow_info_msg optional
o7s.irm.irm_msg 6 ipcp_info o7s.ipcp_info_msg optional
o7s.irm.irm_msg 7 name_info o7s.name_info_msg optional
o7s.irm.irm_msg 8 layer string optional
o7s.irm.irm_msg 9 exec string repeated
o7s.irm.irm_msg 10 response sint32 optional
o7s.irm.irm_msg 11 dst string optional
o7s.irm.irm_msg 12 hash bytes optional
o7s.irm.irm_msg 13 flow_id sint32 optional
o7s.irm.irm_msg 14 qosspec o7s.qosspec_msg optional
o7s.irm.irm_msg 15 conf o7s.ipcp_config_msg optional
o7s.irm.irm_msg 16 opts uint32 optional
o7s.irm.irm_msg 17 ipcps o7s.irm.ipcp_list_msg repeated
o7s.irm.irm_msg 18 names o7s.name_info_msg repeated
o7s.irm.irm_msg 19 timeo o7s.irm.timespec_msg optional
o7s.irm.irm_msg 20 mpl sint32 optional
o7s.irm.irm_msg 21 comp string optional
o7s.irm.irm_msg 22 pk bytes optional
o7s.irm.irm_msg 23 timeo_sec uint32 optional
o7s.irm.irm_msg 24 timeo_nsec uint32 optional
o7s.irm.irm_msg 25 result sint32 optional
o7s.irm.irm_msg 26 sym_key bytes optional
o7s.irm.irm_msg 27 cipher_nid sint32 optional

o7s.ipcp.ipcp_msg 1 code o7s.ipcp.ipcp_msg_code required
o7s.ipcp.ipcp_msg 2 hash bytes optional
o7s.ipcp.ipcp_msg 3 flow_id int32 optional
o7s.ipcp.ipcp_msg 4 dst string optional
o7s.ipcp.ipcp_msg 5 qosspec o7s.qosspec_msg optional
o7s.ipcp.ipcp_msg 6 pk bytes optional
o7s.ipcp.ipcp_msg 7 conf o7s.ipcp_config_msg optional
o7s.ipcp.ipcp_msg 8 pid int32 optional
o7s.ipcp.ipcp_msg 9 layer_info o7s.layer_info_msg optional
o7s.ipcp.ipcp_msg 10 response int32 optional
o7s.ipcp.ipcp_msg 11 comp string optional
o7s.ipcp.ipcp_msg 12 timeo_sec uint32 optional
o7s.ipcp.ipcp_msg 13 mpl sint32 optional
o7s.ipcp.ipcp_msg 14 result int32 optional
o7s.ipcp.ipcp_msg 15 uid uint32 optional
`

// TestDescriptorsMatchSpec checks every field's number, name, type and label
// against wireSpec, and that no message has fields wireSpec does not list.
func TestDescriptorsMatchSpec(t *testing.T) {
	want := map[protoreflect.FullName]int{} // fields per message
	for _, line := range strings.Split(wireSpec, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 5 {
			t.Fatalf("bad spec line %q", line)
		}
		msgName := protoreflect.FullName(f[0])
		num, _ := strconv.Atoi(f[1])
		name, typ, label := f[2], f[3], f[4]
		want[msgName]++

		d, err := protoregistry.GlobalFiles.FindDescriptorByName(msgName)
		if err != nil {
			t.Errorf("message %s: %v", msgName, err)
			continue
		}
		md := d.(protoreflect.MessageDescriptor)
		if md.Syntax() != protoreflect.Proto2 {
			t.Errorf("%s is %v, want proto2", msgName, md.Syntax())
		}
		fd := md.Fields().ByNumber(protoreflect.FieldNumber(num))
		if fd == nil {
			t.Errorf("%s has no field %d (%s)", msgName, num, name)
			continue
		}
		if string(fd.Name()) != name {
			t.Errorf("%s field %d is %s, want %s", msgName, num, fd.Name(), name)
		}
		if got := fd.Cardinality().String(); got != label {
			t.Errorf("%s.%s is %s, want %s", msgName, name, got, label)
		}
		var gotType string
		switch fd.Kind() {
		case protoreflect.MessageKind, protoreflect.GroupKind:
			gotType = string(fd.Message().FullName())
		case protoreflect.EnumKind:
			gotType = string(fd.Enum().FullName())
		default:
			gotType = fd.Kind().String()
		}
		if gotType != typ {
			t.Errorf("%s.%s is %s, want %s", msgName, name, gotType, typ)
		}
		if fd.HasDefault() {
			t.Errorf("%s.%s has a default value", msgName, name)
		}
	}
	for msgName, n := range want {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(msgName)
		if err != nil {
			continue
		}
		// Field numbers from 1000 up are our own extensions (list paging),
		// optional and unknown to the reference, which skips them.
		fields, got := d.(protoreflect.MessageDescriptor).Fields(), 0
		for i := range fields.Len() {
			if fd := fields.Get(i); fd.Number() < 1000 {
				got++
			} else if fd.Cardinality() != protoreflect.Optional {
				t.Errorf("%s.%s: an extension field must be optional", msgName, fd.Name())
			}
		}
		if got != n {
			t.Errorf("%s has %d fields below 1000, the spec lists %d", msgName, got, n)
		}
	}
}

// The message codes and their numbers, the reference's.
func TestEnumsMatchSpec(t *testing.T) {
	for _, c := range []struct {
		enum   protoreflect.FullName
		values string
	}{
		{"o7s.irm.irm_msg_code", `IRM_CREATE_IPCP IPCP_CREATE_R IRM_DESTROY_IPCP IRM_LIST_IPCPS
			IRM_BOOTSTRAP_IPCP IRM_ENROLL_IPCP IRM_CONNECT_IPCP IRM_DISCONNECT_IPCP IRM_BIND_PROGRAM
			IRM_UNBIND_PROGRAM IRM_PROC_ANNOUNCE IRM_PROC_EXIT IRM_BIND_PROCESS IRM_UNBIND_PROCESS
			IRM_CREATE_NAME IRM_DESTROY_NAME IRM_LIST_NAMES IRM_REG_NAME IRM_UNREG_NAME IRM_FLOW_ALLOC
			IRM_FLOW_ACCEPT IRM_FLOW_JOIN IRM_FLOW_DEALLOC IPCP_FLOW_DEALLOC IPCP_FLOW_REQ_ARR
			IPCP_FLOW_ALLOC_REPLY IRM_REPLY`},
		{"o7s.ipcp.ipcp_msg_code", `IPCP_BOOTSTRAP IPCP_ENROLL IPCP_REG IPCP_UNREG IPCP_QUERY
			IPCP_FLOW_ALLOC IPCP_FLOW_JOIN IPCP_FLOW_ALLOC_RESP IPCP_FLOW_DEALLOC IPCP_CONNECT
			IPCP_DISCONNECT IPCP_REPLY`},
	} {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(c.enum)
		if err != nil {
			t.Errorf("enum %s: %v", c.enum, err)
			continue
		}
		ed := d.(protoreflect.EnumDescriptor)
		names := strings.Fields(c.values)
		if ed.Values().Len() != len(names) {
			t.Errorf("%s has %d values, want %d", c.enum, ed.Values().Len(), len(names))
		}
		for i, n := range names {
			v := ed.Values().ByName(protoreflect.Name(n))
			if v == nil {
				t.Errorf("%s has no %s", c.enum, n)
				continue
			}
			if int(v.Number()) != i+1 {
				t.Errorf("%s.%s = %d, want %d", c.enum, n, v.Number(), i+1)
			}
		}
	}
}
