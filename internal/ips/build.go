package ips

import (
	"encoding/json"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// scalar renders a primitive member (string, number or boolean) as text.
func scalar(o *fhirjson.Object, k string) string {
	switch v := o.Get(k).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "yes"
		}
		return "no"
	}
	return ""
}

// obj builds an object from alternating keys and values, skipping members
// whose value is empty ("" or nil), so optional elements are simply absent.
func obj(kv ...any) *fhirjson.Object {
	o := fhirjson.NewObject()
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case nil:
			continue
		case string:
			if v == "" {
				continue
			}
		case *fhirjson.Object:
			if v == nil {
				continue
			}
		case []any:
			if len(v) == 0 {
				continue
			}
		}
		o.Set(k, kv[i+1])
	}
	return o
}

// list turns objects into a JSON array.
func list[T any](items ...T) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}
