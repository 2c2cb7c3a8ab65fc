package mcpgw

import (
	"encoding/json"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

func TestToSDKResultKeepsEveryBlockInOrder(t *testing.T) {
	r := &source.Result{
		Content: []json.RawMessage{
			json.RawMessage(`{"type":"text","text":"one"}`),
			json.RawMessage(`{"type":"image","data":"aGk=","mimeType":"image/png"}`),
			json.RawMessage(`{"type":"text","text":"three","annotations":{"priority":0.5}}`),
			json.RawMessage(`{"type":"text","text":""}`),
		},
		StructuredContent: json.RawMessage(`{"n":1}`),
		IsError:           true,
		Meta:              json.RawMessage(`{"trace":"x"}`),
	}
	out, err := toSDKResult(r)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out)
	want := `{"_meta":{"trace":"x"},"content":[{"type":"text","text":"one"},{"type":"image","mimeType":"image/png","data":"aGk="},` +
		`{"type":"text","text":"three","annotations":{"priority":0.5}},{"type":"text","text":""}],"structuredContent":{"n":1},"isError":true}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, ok := out.Content[0].(*sdk.TextContent); !ok {
		t.Fatalf("block 0 is %T", out.Content[0])
	}
	empty, _ := toSDKResult(&source.Result{})
	if b, _ := json.Marshal(empty); string(b) != `{"content":[]}` {
		t.Fatalf("empty result: %s", b)
	}
}
