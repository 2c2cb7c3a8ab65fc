package mcp

import (
	"context"
	"encoding/json"
	"testing"
)

// BenchmarkStdioCall is one tool call round trip to a stdio upstream (this
// test binary serving in a process), through the cancellable writer
// (pipe.go) and the message-size guard (frame.go):
//
//	go test -run '^$' -bench StdioCall -benchtime 3s ./source/mcp/
func BenchmarkStdioCall(b *testing.B) {
	cfg, _ := stdioConfig(b, "normal")
	u, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	if err := u.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	args := json.RawMessage(`{"message":"hello"}`)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := u.Call(ctx, "echo", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := u.Call(ctx, "echo", args); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
