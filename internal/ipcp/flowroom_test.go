package ipcp

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// A flow that the limit of open files leaves no room for is refused at once
// with ENOMEM, not left to time out, and the IPCP keeps answering: the flows
// it holds stay, and a flow fits again once one is released.
func TestFlowTableFull(t *testing.T) {
	p, _, rec, call := run(t)
	p.mu.Lock()
	p.maxFlows = 1
	p.mu.Unlock()
	boot := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_BOOTSTRAP.Enum(), Conf: &pb.IpcpConfigMsg{
		IpcpType: proto.Uint32(0), LayerInfo: &pb.LayerInfoMsg{Name: proto.String("lay"),
			DirHashAlgo: proto.Uint32(uint32(hash.SHA3_256))}}}
	for deadline := time.Now().Add(5 * time.Second); ; {
		r := call(boot)
		if r.GetResult() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bootstrap: result %d", r.GetResult())
		}
		time.Sleep(5 * time.Millisecond)
	}
	alloc := func(id int32) (int32, datapath.End) {
		t.Helper()
		a, b, err := datapath.Pair(false)
		if err != nil {
			t.Fatal(err)
		}
		m := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_ALLOC.Enum(), FlowId: proto.Int32(id),
			Pid: proto.Int32(42), Hash: make([]byte, 32), Qosspec: ctrl.QoSToPB(qos.Raw), Pk: []byte{}}
		r := call(m, int(b[0].Fd()))
		b.Close()
		t.Cleanup(func() { a.Close() })
		return r.GetResult(), a
	}
	if res, _ := alloc(7); res != 0 {
		t.Fatalf("first alloc: result %d", res)
	}
	<-rec.flows
	res, end := alloc(8)
	if res != -int32(oerr.ENOMEM) {
		t.Fatalf("alloc past the limit: result %d, want -ENOMEM (%d)", res, -int32(oerr.ENOMEM))
	}
	if p.Flow(8) != nil || p.Flow(7) == nil {
		t.Fatalf("after the refusal: flow 8 %v, flow 7 %v", p.Flow(8), p.Flow(7))
	}
	ep, err := datapath.New(end)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ep.ReadPacket(make([]byte, datapath.MaxSDU+1)); !datapath.IsDown(err) {
		t.Fatalf("the refused flow's end: %v", err)
	}
	ep.Close()
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_DEALLOC.Enum(), FlowId: proto.Int32(7)}); r.GetResult() != 0 {
		t.Fatalf("dealloc: result %d", r.GetResult())
	}
	if res, _ := alloc(9); res != 0 {
		t.Fatalf("alloc after a release: result %d", res)
	}
	<-rec.flows
}

// The IRMd's IPCP_FLOW_ALLOC_RESP for a flow that arrived and was refused
// for lack of room is answered ENOTALLOC at once, whether it came before or
// after the refusal: waiting respWait for that flow held the accepting
// server in the IRMd, and every other allocation behind it. (Virtual time.)
func TestRespForRefusedFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &IPCP{flows: map[int]*Flow{}, arrived: make(chan struct{}), refused: map[int]bool{}}
		start := time.Now()
		p.markRefused(5)
		if _, err := p.waitFlow(context.Background(), 5); !errors.Is(err, oerr.ENOTALLOC) || time.Since(start) != 0 {
			t.Fatalf("refused before the answer: %v after %v", err, time.Since(start))
		}
		errc := make(chan error)
		go func() {
			_, err := p.waitFlow(context.Background(), 6)
			errc <- err
		}()
		time.Sleep(time.Second)
		p.markRefused(6)
		if err := <-errc; !errors.Is(err, oerr.ENOTALLOC) || time.Since(start) != time.Second {
			t.Fatalf("refused while waited for: %v after %v", err, time.Since(start))
		}
		if len(p.refused) != 0 {
			t.Fatalf("refused ids left: %v", p.refused)
		}
		// An id used again is a flow again.
		p.markRefused(7)
		f := &Flow{ID: 7}
		p.addFlow(f)
		if g, err := p.waitFlow(context.Background(), 7); g != f || err != nil {
			t.Fatalf("id used again: %v, %v", g, err)
		}
	})
}
