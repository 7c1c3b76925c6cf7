package vendors

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// Gemini's function parameters (and responseSchema) are not JSON Schema but
// a subset of the OpenAPI 3.0 Schema object, and the API answers 400 to any
// keyword outside it ("Unknown name \"additionalProperties\"…") as well as
// to some shapes inside it. geminiSchema rewrites a client's JSON Schema into
// that subset:
//
// Kept: type, format, title, description, nullable, enum, items,
// properties, required, anyOf, minimum, maximum, minLength, maxLength,
// pattern, minItems, maxItems, minProperties, maxProperties, default,
// example, propertyOrdering.
//
// Rewritten:
//   - type names become Gemini's enum names (STRING, OBJECT…); "null", or
//     "null" in a type array, becomes nullable: true; a type array with
//     several other types becomes anyOf, each branch taking the keywords of
//     its type;
//   - $ref to a local definition (#/$defs/…, #/definitions/…) is inlined; a
//     reference back into a definition being inlined (a recursive schema)
//     and any other reference become {}, "any" (Gemini has no references);
//   - oneOf becomes anyOf; an anyOf branch that is only {"type":"null"}
//     becomes nullable, and a single remaining branch is inlined;
//   - allOf is merged into its parent (properties and required united);
//   - const (a string) becomes a one-value enum;
//   - enum is kept only when every value is a string (Gemini's enums are
//     strings) and the type is STRING or absent (then set to STRING);
//   - format is kept only where Gemini accepts it: date-time and enum for
//     STRING, int32 and int64 for INTEGER, float and double for NUMBER;
//   - required keeps only names present in properties;
//   - an object without properties loses its type (so it means "any":
//     Gemini refuses an OBJECT with no properties), and at the top level of
//     function parameters the whole schema is dropped;
//   - an ARRAY without items gets items {}.
//
// Dropped (everything else), notably: $schema, $id, $defs, definitions,
// $comment, additionalProperties, unevaluatedProperties, patternProperties,
// propertyNames, dependentRequired, dependentSchemas, strict, examples,
// exclusiveMinimum, exclusiveMaximum, multipleOf, uniqueItems, contains,
// minContains, maxContains, prefixItems, not, if, then, else, readOnly,
// writeOnly, deprecated, contentMediaType, contentEncoding.

// geminiSchemaMaxDepth bounds nesting: a subschema deeper than this becomes
// {}.
const geminiSchemaMaxDepth = 32

// geminiSchemaTypes maps JSON Schema type names to Gemini's.
var geminiSchemaTypes = map[string]string{
	"string": "STRING", "number": "NUMBER", "integer": "INTEGER", "boolean": "BOOLEAN",
	"array": "ARRAY", "object": "OBJECT",
}

// geminiTypeKeywords are the keywords that only make sense for one type; a
// type union hands them to the branch of that type.
var geminiTypeKeywords = map[string][]string{
	"STRING":  {"enum", "format", "pattern", "minLength", "maxLength"},
	"NUMBER":  {"format", "minimum", "maximum"},
	"INTEGER": {"format", "minimum", "maximum"},
	"ARRAY":   {"items", "minItems", "maxItems"},
	"OBJECT":  {"properties", "required", "propertyOrdering", "minProperties", "maxProperties"},
}

// geminiFormats are the formats Gemini accepts, by type.
var geminiFormats = map[string][]string{
	"STRING":  {"date-time", "enum"},
	"INTEGER": {"int32", "int64"},
	"NUMBER":  {"float", "double"},
}

// geminiSchema rewrites a JSON Schema for Gemini (see above). It returns nil
// when there is nothing to send: no schema, or an object schema without
// properties.
func geminiSchema(raw json.RawMessage) (json.RawMessage, error) {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 || string(s) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("must be a JSON object")
	}
	c := geminiSchemaCleaner{root: root, active: []string{"#"}}
	out := c.clean(root, 0)
	if len(out) == 0 || (out["type"] == nil && out["properties"] == nil && out["anyOf"] == nil) {
		return nil, nil
	}
	return geminiMarshal(out)
}

type geminiSchemaCleaner struct {
	root   map[string]any
	active []string // the references being inlined, outermost first
}

// resolve finds a local $ref target, or nil.
func (c *geminiSchemaCleaner) resolve(ref string) map[string]any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		if ref == "#" {
			return c.root
		}
		return nil
	}
	var cur any = c.root
	for _, seg := range strings.Split(rest, "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	m, _ := cur.(map[string]any)
	return m
}

// clean rewrites one schema node.
func (c *geminiSchemaCleaner) clean(s map[string]any, depth int) map[string]any {
	out := map[string]any{}
	if depth > geminiSchemaMaxDepth {
		return out
	}
	if ref, ok := s["$ref"].(string); ok {
		target := c.resolve(ref)
		if target == nil || slices.Contains(c.active, ref) {
			if d, ok := s["description"].(string); ok {
				out["description"] = d
			}
			return out
		}
		c.active = append(c.active, ref)
		defer func() { c.active = c.active[:len(c.active)-1] }()
		merged := make(map[string]any, len(target)+2)
		for k, v := range target {
			merged[k] = v
		}
		// Siblings of $ref (a description, most often) refine the target.
		for k, v := range s {
			if k != "$ref" {
				merged[k] = v
			}
		}
		return c.clean(merged, depth+1)
	}

	var types []string
	nullable := false
	for k, v := range s {
		switch k {
		case "type":
			switch t := v.(type) {
			case string:
				types = append(types, t)
			case []any:
				for _, e := range t {
					if name, ok := e.(string); ok {
						types = append(types, name)
					}
				}
			}
		case "title", "description", "pattern":
			if str, ok := v.(string); ok {
				out[k] = str
			}
		case "format":
			if str, ok := v.(string); ok {
				out[k] = str
			}
		case "nullable":
			if b, ok := v.(bool); ok && b {
				nullable = true
			}
		case "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties":
			if n, ok := v.(json.Number); ok {
				out[k] = n
			}
		case "default", "example":
			out[k] = v
		case "enum":
			if list, ok := v.([]any); ok && geminiAllStrings(list) && len(list) > 0 {
				out["enum"] = list
			}
		case "const":
			if str, ok := v.(string); ok {
				out["enum"] = []any{str}
			}
		case "propertyOrdering":
			if list, ok := v.([]any); ok && geminiAllStrings(list) {
				out[k] = list
			}
		case "properties":
			if props, ok := v.(map[string]any); ok {
				cleaned := make(map[string]any, len(props))
				for name, p := range props {
					if pm, ok := p.(map[string]any); ok {
						cleaned[name] = c.clean(pm, depth+1)
					}
				}
				if len(cleaned) > 0 {
					out["properties"] = cleaned
				}
			}
		case "items":
			switch it := v.(type) {
			case map[string]any:
				out["items"] = c.clean(it, depth+1)
			case []any: // tuple form: the first item's schema stands for all
				if len(it) > 0 {
					if im, ok := it[0].(map[string]any); ok {
						out["items"] = c.clean(im, depth+1)
					}
				}
			}
		case "required":
			if list, ok := v.([]any); ok && geminiAllStrings(list) {
				out["required"] = list
			}
		}
	}

	// allOf: merge the branches into this node.
	if list, ok := s["allOf"].([]any); ok {
		for _, b := range list {
			if bm, ok := b.(map[string]any); ok {
				geminiMergeSchema(out, c.clean(bm, depth+1))
			}
		}
	}

	// anyOf / oneOf: null branches become nullable; one branch left is inlined.
	var branches []any
	for _, key := range []string{"anyOf", "oneOf"} {
		list, ok := s[key].([]any)
		if !ok {
			continue
		}
		for _, b := range list {
			bm, ok := b.(map[string]any)
			if !ok {
				continue
			}
			cb := c.clean(bm, depth+1)
			if len(cb) == 1 && cb["nullable"] == true {
				nullable = true
				continue
			}
			branches = append(branches, cb)
		}
	}

	// Types: "null" is nullable; one type is the type; several are anyOf.
	var gtypes []string
	for _, t := range types {
		if t == "null" {
			nullable = true
			continue
		}
		if g, ok := geminiSchemaTypes[strings.ToLower(t)]; ok && !slices.Contains(gtypes, g) {
			gtypes = append(gtypes, g)
		}
	}
	switch len(gtypes) {
	case 0:
	case 1:
		out["type"] = gtypes[0]
	default:
		// Each branch takes the keywords of its type; shared ones (title,
		// description…) stay here.
		typed := make([]any, 0, len(gtypes))
		for _, g := range gtypes {
			b := map[string]any{"type": g}
			for _, kw := range geminiTypeKeywords[g] {
				if v, ok := out[kw]; ok {
					b[kw] = v
				}
			}
			typed = append(typed, geminiFinishSchema(b))
		}
		for _, kws := range geminiTypeKeywords {
			for _, kw := range kws {
				delete(out, kw)
			}
		}
		branches = append(typed, branches...)
	}

	switch {
	case len(branches) == 1 && out["type"] == nil:
		geminiMergeSchema(out, branches[0].(map[string]any))
	case len(branches) > 0:
		out["anyOf"] = branches
	}
	if nullable {
		out["nullable"] = true
	}
	return geminiFinishSchema(out)
}

// geminiFinishSchema applies the checks that depend on the final type.
func geminiFinishSchema(out map[string]any) map[string]any {
	typ, _ := out["type"].(string)
	if _, ok := out["enum"]; ok {
		switch typ {
		case "":
			out["type"] = "STRING"
			typ = "STRING"
		case "STRING":
		default:
			delete(out, "enum")
		}
	}
	if f, ok := out["format"].(string); ok && !slices.Contains(geminiFormats[typ], f) {
		delete(out, "format")
	}
	props, _ := out["properties"].(map[string]any)
	if req, ok := out["required"].([]any); ok {
		kept := req[:0:0]
		for _, r := range req {
			if _, ok := props[r.(string)]; ok && !slices.Contains(kept, r) {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			delete(out, "required")
		} else {
			out["required"] = kept
		}
	}
	if typ == "OBJECT" && len(props) == 0 {
		delete(out, "type")
		delete(out, "propertyOrdering")
	}
	if typ == "ARRAY" {
		if _, ok := out["items"]; !ok {
			out["items"] = map[string]any{}
		}
	}
	return out
}

// geminiMergeSchema merges src into dst: properties and required are
// united, other keywords already in dst win.
func geminiMergeSchema(dst, src map[string]any) {
	for k, v := range src {
		switch k {
		case "properties":
			dp, _ := dst["properties"].(map[string]any)
			if dp == nil {
				dp = map[string]any{}
			}
			for name, p := range v.(map[string]any) {
				if _, ok := dp[name]; !ok {
					dp[name] = p
				}
			}
			dst["properties"] = dp
		case "required":
			dr, _ := dst["required"].([]any)
			for _, r := range v.([]any) {
				if !slices.Contains(dr, r) {
					dr = append(dr, r)
				}
			}
			dst["required"] = dr
		default:
			if _, ok := dst[k]; !ok {
				dst[k] = v
			}
		}
	}
}

// geminiAllStrings reports whether every element is a string.
func geminiAllStrings(list []any) bool {
	for _, e := range list {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}
