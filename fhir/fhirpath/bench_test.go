package fhirpath

import (
	"testing"
)

// BenchmarkObservationParams evaluates every Observation search parameter
// (and composite component) over Observation-f001, as indexing does on each
// write; one op is one whole resource.
func BenchmarkObservationParams(b *testing.B) {
	params := servedParams(b)
	res := readExample(b, "Observation-f001.json")
	type compiled struct {
		main       *Expression
		components []*Expression
	}
	var exprs []compiled
	for _, p := range params {
		if p.Expression == "" || !p.appliesTo("Observation") {
			continue
		}
		c := compiled{main: MustCompile(p.Expression)}
		for _, comp := range p.Component {
			c.components = append(c.components, MustCompile(comp.Expression))
		}
		exprs = append(exprs, c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, c := range exprs {
			nodes, err := c.main.Evaluate(res)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range nodes {
				for _, comp := range c.components {
					if _, err := comp.EvaluateNode(res, n); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	b.ReportMetric(float64(len(exprs)), "params")
}
