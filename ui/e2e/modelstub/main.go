// Command modelstub serves a scripted OpenAI-compatible model
// (internal/modeltest) for the console's browser tests: every ask gets a
// one-step plan (everything__get-sum of 2 and 3) and then an answer, with
// token usage. It prints its URL and serves until killed.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/weft-dev/weft/internal/modeltest"
)

func main() {
	srv := modeltest.New()
	defer srv.Close()
	for range 100 {
		srv.Push(
			modeltest.Reply{Content: modeltest.Plan([3]string{"sum", "everything__get-sum", `{"a":2,"b":3}`}), Prompt: 900, Cached: 512, Completion: 40},
			modeltest.Reply{Content: "2 + 3 = 5.", Prompt: 300, Completion: 12})
	}
	fmt.Println(srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
