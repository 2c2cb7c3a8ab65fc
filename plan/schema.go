package plan

import _ "embed"

// Schema is the JSON Schema (2020-12) of weft's plan format. Parse is the
// authority (it also checks what a schema cannot, such as unique ids);
// the schema is for editors, models and documentation.
//
//go:embed schema.json
var Schema []byte
