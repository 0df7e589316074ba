package local

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

func conf(layer string, algo uint32) *pb.IpcpConfigMsg {
	return &pb.IpcpConfigMsg{IpcpType: proto.Uint32(0),
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String(layer), DirHashAlgo: proto.Uint32(algo)}}
}

func TestBootstrap(t *testing.T) {
	l := New(nil)
	layer, algo, err := l.Bootstrap(context.Background(), conf("lay", uint32(hash.SHA3_512)))
	if err != nil || layer != "lay" || algo != hash.SHA3_512 {
		t.Fatalf("bootstrap = %q, %v, %v", layer, algo, err)
	}
	for _, c := range []*pb.IpcpConfigMsg{conf("lay", uint32(hash.MD5)), conf("", 1)} {
		if _, _, err := l.Bootstrap(context.Background(), c); !errors.Is(err, oerr.EINVAL) {
			t.Errorf("bootstrap %v: %v, want EINVAL", c, err)
		}
	}
}

func TestDirectory(t *testing.T) {
	l := New(nil)
	ctx := context.Background()
	h, _ := hash.Sum(hash.SHA3_256, "name")
	if err := l.Query(ctx, h); !errors.Is(err, oerr.ENAME) {
		t.Fatalf("query before reg: %v", err)
	}
	l.Reg(h)
	l.Reg(h) // idempotent
	if err := l.Query(ctx, h); err != nil {
		t.Fatalf("query after reg: %v", err)
	}
	l.Unreg(h)
	l.Unreg(h) // missing is fine
	if err := l.Query(ctx, h); !errors.Is(err, oerr.ENAME) {
		t.Fatalf("query after unreg: %v", err)
	}
}
