// Package synthetic generates realistic, seeded tool catalogs and requests
// for benchmarks: tool names like "list_open_invoices", one-to-three
// sentence descriptions, JSON Schemas with described parameters, servers
// named after services. The same seed always gives the same catalog.
package synthetic

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/weft-dev/weft/catalog"
)

var (
	verbs = strings.Fields(`get list create update delete search find send fetch analyze generate
convert export import schedule cancel validate calculate translate summarize upload download
archive restore approve reject assign merge compare sync monitor track book query render resize
compress encrypt decrypt parse format notify subscribe publish rank forecast estimate`)
	nouns = strings.Fields(`user issue repository file document invoice order payment ticket event
email message channel stock price weather forecast flight hotel reservation customer contact lead
deal project task comment pull_request branch commit release deployment container cluster node
pod secret bucket object table row column sheet chart report dashboard metric alert incident log
trace span query index record note page post image video audio playlist track album artist movie
recipe route station train map place address coordinate currency rate transaction account balance
budget expense receipt subscription plan product inventory shipment package warehouse supplier
employee candidate job interview course lesson student grade exam paper article citation patent
trial gene variant drug symptom appointment prescription device sensor reading firmware webhook`)
	qualifiers = strings.Fields(`open closed recent daily weekly monthly archived pending active
draft public private shared starred trending top latest historical scheduled overdue failed
paid unpaid local remote cached`)
	services = strings.Fields(`github gitlab jira slack discord notion linear stripe paypal shopify
salesforce hubspot zendesk asana trello dropbox gdrive onedrive s3 gcs postgres mysql redis
mongodb elastic kafka k8s docker aws azure gcp vercel netlify cloudflare twilio sendgrid mailchimp
calendar gmail outlook teams zoom spotify youtube twitter reddit hackernews arxiv pubmed weather
maps yelp airbnb booking amadeus yahoo finance coinbase binance openai anthropic figma miro`)
	phrases = []string{
		"Returns the result as JSON.", "Supports pagination with a cursor.",
		"Requires an API token with read access.", "Results are sorted by relevance.",
		"Use this before making changes.", "Times are in UTC.",
		"Fails if the resource does not exist.", "Only the first 100 items are returned.",
		"Rate limited to 60 calls per minute.", "Works with the workspace of the current user.",
	}
	types = []string{"string", "integer", "number", "boolean", "array"}
)

// word returns a pseudo-word (product names, jargon) to widen the vocabulary.
func word(r *rand.Rand) string {
	const cons, vow = "bcdfghjklmnprstvwz", "aeiou"
	n := 2 + r.IntN(3)
	var b strings.Builder
	for range n {
		b.WriteByte(cons[r.IntN(len(cons))])
		b.WriteByte(vow[r.IntN(len(vow))])
	}
	return b.String()
}

// Tools returns n tools spread over about n/25 servers.
func Tools(n int, seed uint64) []catalog.Tool {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	jargon := make([]string, 2000)
	for i := range jargon {
		jargon[i] = word(r)
	}
	nServers := max(1, n/25)
	servers := make([]string, nServers)
	serverDesc := make([]string, nServers)
	for i := range servers {
		s := services[i%len(services)]
		if i >= len(services) {
			s = fmt.Sprintf("%s-%s-%d", s, jargon[r.IntN(len(jargon))], i/len(services))
		}
		servers[i] = s
		serverDesc[i] = fmt.Sprintf("MCP server for %s: %s %s and %s.", s, pick(r, verbs), plural(pick(r, nouns)), plural(pick(r, nouns)))
	}
	tools := make([]catalog.Tool, n)
	for i := range tools {
		v, o, q := pick(r, verbs), pick(r, nouns), pick(r, qualifiers)
		name := v + "_" + o
		if r.IntN(2) == 0 {
			name = v + "_" + q + "_" + plural(o)
		}
		if r.IntN(3) == 0 {
			name = camel(name)
		}
		s := r.IntN(nServers)
		desc := fmt.Sprintf("%s %s %s in %s.", capital(v), q, strings.ReplaceAll(plural(o), "_", " "), servers[s])
		for range r.IntN(3) {
			if r.IntN(2) == 0 {
				desc += " " + phrases[r.IntN(len(phrases))]
			} else {
				desc += fmt.Sprintf(" Filters by %s and %s %s.", pick(r, nouns), jargon[r.IntN(len(jargon))], pick(r, nouns))
			}
		}
		tools[i] = catalog.Tool{
			Original:          fmt.Sprintf("%s_%d", name, i),
			Server:            servers[s],
			ServerDescription: serverDesc[s],
			Description:       desc,
			InputSchema:       schema(r, o, jargon),
		}
		if r.IntN(4) == 0 {
			ro := true
			tools[i].Annotations = &catalog.Annotations{ReadOnlyHint: &ro}
		}
		if r.IntN(3) == 0 {
			tools[i].Tags = []string{pick(r, qualifiers)}
		}
	}
	return tools
}

// Queries returns n requests in natural language about the vocabulary of Tools.
func Queries(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed+1, seed^0x51afd7ed558ccd))
	openers := []string{"", "I want to ", "Can you ", "Please ", "Help me ", "I need to "}
	out := make([]string, n)
	for i := range out {
		q := fmt.Sprintf("%s%s the %s %s from %s", openers[r.IntN(len(openers))], pick(r, verbs), pick(r, qualifiers),
			strings.ReplaceAll(plural(pick(r, nouns)), "_", " "), pick(r, services))
		if r.IntN(2) == 0 {
			q += fmt.Sprintf(" and then %s a %s with the %s", pick(r, verbs), pick(r, nouns), pick(r, nouns))
		}
		out[i] = q
	}
	return out
}

func schema(r *rand.Rand, noun string, jargon []string) json.RawMessage {
	props := map[string]any{}
	var required []string
	for j := range 1 + r.IntN(5) {
		name := pick(r, nouns) + "_" + []string{"id", "name", "limit", "query", "format", "since", "status"}[r.IntN(7)]
		if j == 0 {
			name = noun + "_id"
			required = append(required, name)
		}
		props[name] = map[string]any{
			"type":        types[r.IntN(len(types))],
			"description": fmt.Sprintf("The %s of the %s (%s).", strings.ReplaceAll(name, "_", " "), noun, jargon[r.IntN(len(jargon))]),
		}
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": required})
	return b
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

func plural(s string) string {
	switch {
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "ch"):
		return s + "es"
	case strings.HasSuffix(s, "y") && !strings.HasSuffix(s, "ey"):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = capital(parts[i])
	}
	return strings.Join(parts, "")
}
