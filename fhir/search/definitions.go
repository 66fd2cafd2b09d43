package search

//go:generate go run ./internal/genparams -in ../../.cache/r4-examples/package/Bundle-searchParams.json -out params_gen.go

// definition is one R4 SearchParameter as published (see params_gen.go).
type definition struct {
	URL         string
	Code        string
	Base        []string
	Type        string
	Expression  string
	Target      []string
	Components  []componentDefinition
	Description string
}

type componentDefinition struct {
	Definition string
	Expression string
}
