package sandbox

import (
	"encoding/json"
	"testing"
)

func TestBasics(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, `const r = await tools.util.echo({a: 1}); console.log("hi", {x: 2}); return {r, w: await tools.my_srv.get_weather({city: "Oslo"})};`)
	b, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("%s", b)
}
