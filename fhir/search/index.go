package search

// Index holds the values a resource version is found by, one slice per
// search parameter type. The store writes them in the transaction that
// writes the version, so search never sees a resource without its index.
type Index struct {
	Strings    []StringRow
	Tokens     []TokenRow
	Dates      []DateRow
	Numbers    []NumberRow
	Quantities []QuantityRow
	Refs       []RefRow
	URIs       []URIRow
	Composites []CompositeRow
}

// StringRow is a string value: Norm is Normalize(value) for the default
// prefix match and :contains; Exact is the value as written, for :exact.
type StringRow struct {
	Param       string
	Norm, Exact string
}

// TokenRow is a coded value. Text is the normalised display or text that
// :text searches; a row with empty System and Code carries text only.
type TokenRow struct {
	Param        string
	System, Code string
	Text         string
	// DateLo and DateHi span the resource's primary date (see PrimaryDate),
	// so a code and a date range can be searched from the token index alone.
	// Both zero means no date.
	DateLo, DateHi int64
}

// DateRow is the range a date, dateTime, instant, Period or Timing occupies,
// [Lo, Hi) in microseconds since the epoch.
type DateRow struct {
	Param  string
	Lo, Hi int64
}

// NumberRow is a number value.
type NumberRow struct {
	Param string
	Value float64
}

// QuantityRow is a Quantity (or SampledData origin) value.
type QuantityRow struct {
	Param              string
	Value              float64
	System, Code, Unit string
}

// RefRow is a reference: a local one has TargetType and TargetID; an
// absolute URL to another server (or a canonical) has URL.
type RefRow struct {
	Param                string
	TargetType, TargetID string
	URL                  string
}

// URIRow is a uri, url or canonical value.
type URIRow struct {
	Param string
	URI   string
}

// CompositeRow is one tuple of a composite parameter whose first component
// is a token (all of R4's Observation composites are): the second component
// fills the fields of its type.
type CompositeRow struct {
	Param        string
	System, Code string
	// second component
	ValueSystem, ValueCode string  // token
	Num                    float64 // quantity value
	Unit                   string  // quantity unit (ValueSystem/ValueCode hold system/code)
	Lo, Hi                 int64   // date range
	Str                    string  // normalised string
	Kind                   string  // "token", "quantity", "date" or "string"
}

// Len is the number of index rows.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.Strings) + len(ix.Tokens) + len(ix.Dates) + len(ix.Numbers) + len(ix.Quantities) + len(ix.Refs) + len(ix.URIs) + len(ix.Composites)
}
