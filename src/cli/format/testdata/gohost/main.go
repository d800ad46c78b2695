// Reference runner used to produce golden.ts: reads JSON cases on stdin
// ({t, d} for a template on data, or {table, rows, headers} for docker's
// formatter.Context.Write) and prints Go's output and error for each.
// Integral JSON numbers are converted to int, as berth treats JS numbers.
// Run with any Go >= 1.19: go mod init gohost && go run . < cases.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"text/template"
)

var basicFunctions = template.FuncMap{
	"json": func(v interface{}) string {
		buf := &bytes.Buffer{}
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		return strings.TrimSpace(buf.String())
	},
	"split": strings.Split,
	"join":  strings.Join,
	"title": strings.Title,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(source string, prefix, suffix int) string {
		if source == "" {
			return source
		}
		return strings.Repeat(" ", prefix) + source + strings.Repeat(" ", suffix)
	},
	"truncate": func(source string, length int) string {
		if len(source) < length {
			return source
		}
		return source[:length]
	},
}

var headerFunctions = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v string, _ string) string { return v },
	"join":     func(v string, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"truncate": func(v string, _ int) string { return v },
}

type SubHeaderContext map[string]string

func (c SubHeaderContext) Label(name string) string {
	n := strings.Split(name, ".")
	r := strings.NewReplacer("-", " ", "_", " ")
	return r.Replace(n[len(n)-1])
}

// convert: integral json numbers become int, like berth's JS numbers.
func convert(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []interface{}:
		for i := range x {
			x[i] = convert(x[i])
		}
		return x
	case map[string]interface{}:
		for k := range x {
			x[k] = convert(x[k])
		}
		return x
	}
	return v
}

type Case struct {
	T       string            `json:"t"`
	D       json.RawMessage   `json:"d"`
	Table   *string           `json:"table"`
	Rows    json.RawMessage   `json:"rows"`
	Headers map[string]string `json:"headers"`
}

type Result struct {
	Out string `json:"out"`
	Err string `json:"err,omitempty"`
}

func decode(raw json.RawMessage) interface{} {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	return convert(v)
}

func runTable(c Case) Result {
	format := *c.Table
	isTable := strings.HasPrefix(format, "table")
	final := format
	if isTable {
		final = final[5:]
	} else if format == "json" {
		final = "{{json .}}"
	}
	final = strings.Trim(final, " ")
	final = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(final)
	tmpl, err := template.New("").Funcs(basicFunctions).Parse(final)
	if err != nil {
		return Result{Err: "template parsing error: " + err.Error()}
	}
	rows, _ := decode(c.Rows).([]interface{})
	buf := &bytes.Buffer{}
	for _, r := range rows {
		if err := tmpl.Execute(buf, r); err != nil {
			return Result{Err: "template parsing error: " + err.Error()}
		}
		buf.WriteString("\n")
	}
	if !isTable {
		return Result{Out: buf.String()}
	}
	out := &bytes.Buffer{}
	t := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	hb := &bytes.Buffer{}
	tmpl.Funcs(headerFunctions).Execute(hb, SubHeaderContext(c.Headers))
	hb.WriteTo(t)
	t.Write([]byte("\n"))
	buf.WriteTo(t)
	t.Flush()
	return Result{Out: out.String()}
}

func main() {
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	results := make([]Result, len(cases))
	for i, c := range cases {
		func() {
			defer func() {
				if r := recover(); r != nil {
					results[i] = Result{Err: fmt.Sprintf("PANIC %v", r)}
				}
			}()
			if c.Table != nil {
				results[i] = runTable(c)
				return
			}
			tmpl, err := template.New("").Funcs(basicFunctions).Parse(c.T)
			if err != nil {
				results[i] = Result{Err: err.Error()}
				return
			}
			buf := &bytes.Buffer{}
			err = tmpl.Execute(buf, decode(c.D))
			results[i] = Result{Out: buf.String()}
			if err != nil {
				results[i].Err = err.Error()
			}
		}()
	}
	json.NewEncoder(os.Stdout).Encode(results)
}
