package redact

import (
	"encoding/json"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"connecting with password=hunter2 to db", "connecting with password=[redacted] to db"},
		{"DB_PASSWORD=s3cr3t PORT=5432", "DB_PASSWORD=[redacted] PORT=5432"},
		{"login failed: pwd: 'abc def'", "login failed: pwd: [redacted]"},
		{`config {"apiKey": "AbC123xyz", "region": "eu"}`, `config {"apiKey": [redacted], "region": "eu"}`},
		{"using token=ghx-1234567890", "using token=[redacted]"},
		{"x-api-key: k-12345 accepted", "x-api-key: [redacted] accepted"},
		{"header Authorization: Bearer abc.def-ghi_jkl", "header Authorization: Bearer [redacted]"},
		{"Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"},
		{"dial postgres://admin:pa55@db:5432/app failed", "dial postgres://[redacted]@db:5432/app failed"},
		{"clone https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x", "clone https://[redacted]@github.com/x"},
		{"loaded key sk-proj-abcdefghijklmnop1234", "loaded key [redacted]"},
		{"AKIAIOSFODNN7EXAMPLE used", "[redacted] used"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXZhbHVl ok", "jwt [redacted] ok"},
		// What the sandbox call log and run records missed (issue 9 #19).
		{"key=abc123", "key=[redacted]"},
		{"PGPASS=hunter22 psql", "PGPASS=[redacted] psql"},
		{"PGPASSWORD=hunter22", "PGPASSWORD=[redacted]"},
		{"curl -H 'Authorization: Bearer tok_live_123456'", "curl -H 'Authorization: Bearer [redacted]'"},
		{"send Bearer abcdefgh to it", "send Bearer [redacted] to it"},
		{"error:password=x1", "error:password=[redacted]"},
		{"https://h/x?sslmode=disable&api_key=abc123&v=1", "https://h/x?sslmode=disable&api_key=[redacted]&v=1"},
		// Ordinary text stays readable.
		{"listening on http://127.0.0.1:3000/mcp", "listening on http://127.0.0.1:3000/mcp"},
		{"Secure MCP Filesystem Server running on stdio", "Secure MCP Filesystem Server running on stdio"},
		{"process exited: exit status 3", "process exited: exit status 3"},
		{"monkey: banana, keyword=go, author: ann, at 12:30:45", "monkey: banana, keyword=go, author: ann, at 12:30:45"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKnownSecrets(t *testing.T) {
	r := New("abcd", "x", "postgres://u:p@db/x", "tok123")
	got := r.Text("abcd x postgres://u:p@db/x tok123 plain")
	want := "[redacted] x [redacted] [redacted] plain"
	if got != want {
		t.Fatalf("Text = %q, want %q", got, want)
	}
	var none *Redactor
	if got := none.Text("token=abc"); got != "token=[redacted]" {
		t.Errorf("nil redactor: %q", got)
	}
}

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "PASSWORD": true, "passwd": true, "db_password": true, "DBPASSWORD": true,
		"secret": true, "client_secret": true, "token": true, "access_token": true, "refreshToken": true,
		"key": true, "api_key": true, "apikey": true, "apiKey": true, "APIKey": true, "x-api-key": true,
		"OPENAI_API_KEY": true, "authorization": true, "Authorization": true, "auth": true,
		"credential": true, "credentials": true, "PGPASS": true, "PGPASSFILE": true, "private_key": true,
		"privateKey": true, "GITHUB_PERSONAL_ACCESS_TOKEN": true, "cookie": true, "session_id": true,
		"": false, "name": false, "monkey": false, "keyword": false, "keys_count": false, "author": false,
		"max_tokens": false, "passage": false, "query": false, "path": false, "id": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValueBySchemaHintsAndNames(t *testing.T) {
	schema := json.RawMessage(`{
		"type":"object",
		"$defs":{"cred":{"type":"string","format":"password"}},
		"properties":{
			"dsn":{"type":"string","writeOnly":true},
			"pin":{"type":"integer","format":"password"},
			"login":{"$ref":"#/$defs/cred"},
			"hosts":{"type":"array","items":{"type":"object","properties":{"pw":{"allOf":[{"format":"password"}]}}}},
			"extra":{"type":"object","additionalProperties":{"type":"string","writeOnly":true}}
		}}`)
	in := map[string]any{
		"dsn":     "host=db",
		"pin":     json.Number("1234"),
		"login":   "hunter2",
		"hosts":   []any{map[string]any{"pw": "p1", "name": "a"}},
		"extra":   map[string]any{"x": "y"},
		"api_key": "k-123",
		"key":     "abc",
		"headers": map[string]any{"Authorization": "Bearer abcdefgh"},
		"note":    "run with PGPASS=hunter22 and Authorization: Bearer zzzzzzzz",
		"query":   "weather in Paris",
		"limit":   json.Number("5"),
		"auth":    false,
	}
	got := Value(in, schema)
	want := `{"api_key":"[redacted]","auth":false,"dsn":"[redacted]","extra":{"x":"[redacted]"},"headers":{"Authorization":"[redacted]"},` +
		`"hosts":[{"name":"a","pw":"[redacted]"}],"key":"[redacted]","limit":5,"login":"[redacted]",` +
		`"note":"run with PGPASS=[redacted] and Authorization: Bearer [redacted]","pin":"[redacted]","query":"weather in Paris"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("Value =\n%s\nwant\n%s", b, want)
	}
	// The input is not modified.
	if in["key"] != "abc" || in["hosts"].([]any)[0].(map[string]any)["pw"] != "p1" {
		t.Errorf("Value modified its input: %v", in)
	}
}

func TestJSON(t *testing.T) {
	got := JSON(json.RawMessage(`{"password":"x","n":1.50,"list":["token=abc"]}`), nil)
	if string(got) != `{"list":["token=[redacted]"],"n":1.50,"password":"[redacted]"}` {
		t.Errorf("JSON = %s", got)
	}
	if got := JSON(json.RawMessage(`not json password=abc`), nil); string(got) != `"not json password=[redacted]"` {
		t.Errorf("JSON(invalid) = %s", got)
	}
	// A recursive schema ends.
	rec := json.RawMessage(`{"$ref":"#","properties":{"next":{"$ref":"#"}}}`)
	if got := JSON(json.RawMessage(`{"next":{"next":{"v":"ok"}}}`), rec); string(got) != `{"next":{"next":{"v":"ok"}}}` {
		t.Errorf("JSON(recursive) = %s", got)
	}
}

func TestSecretsAndKnownValues(t *testing.T) {
	schema := json.RawMessage(`{"properties":{"pw":{"type":"string","format":"password"},"user":{"type":"string"}}}`)
	in := map[string]any{"pw": "hunter22", "user": "ann", "api_key": "k-abcdef", "nested": map[string]any{"token": "t-123456"}, "n": json.Number("1")}
	got := Secrets(in, schema)
	want := map[string]bool{"hunter22": true, "k-abcdef": true, "t-123456": true}
	if len(got) != len(want) {
		t.Fatalf("Secrets = %v", got)
	}
	for _, s := range got {
		if !want[s] {
			t.Errorf("Secrets: unexpected %q", s)
		}
	}
	// A redactor that knows them redacts them anywhere, e.g. echoed by a tool.
	r := New(got...)
	out := r.Value(map[string]any{"echo": "you said hunter22 to ann"}, nil)
	if b, _ := json.Marshal(out); string(b) != `{"echo":"you said [redacted] to ann"}` {
		t.Errorf("Value with known secrets = %s", b)
	}
	if got := string(r.JSON(json.RawMessage(`["k-abcdef"]`), nil)); got != `["[redacted]"]` {
		t.Errorf("JSON with known secrets = %s", got)
	}
}
