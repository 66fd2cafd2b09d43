package search

import (
	"net/url"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// Limits on one search. A search past one is refused with a 400 naming the
// limit before any SQL is built, so no client can make a query the
// databases cannot plan (SQLite's expression depth, the bound-parameter
// limits of both) or that runs for minutes. The README's "Search
// semantics" lists them.
const (
	// MaxParameters is the most search criteria (AND-ed parameters,
	// counting each repetition) in one query. PostgreSQL's planning time
	// grows fast with the number of semi-joins: 50 criteria plan in about
	// 0.1 s on a 2-core machine, 100 in 2 s.
	MaxParameters = 50
	// MaxValuesPerParameter is the most comma-separated (OR-ed) values of
	// one parameter.
	MaxValuesPerParameter = 1000
	// MaxValues is the most values of all criteria together.
	MaxValues = 2000
	// MaxSortKeys is the most _sort keys.
	MaxSortKeys = 8
	// MaxIncludes is the most _include and _revinclude parameters.
	MaxIncludes = 16
	// MaxChainDepth is the most chained (a.b) and reverse-chained (_has)
	// hops in one parameter.
	MaxChainDepth = 4
	// IncludeIterations is how many rounds _include:iterate and
	// _revinclude:iterate follow; what a further round would add is left
	// out with a warning in the Bundle.
	IncludeIterations = 4
)

func tooMany(what string, n, limit int, param string) error {
	e := outcome.New(400, outcome.CodeTooLong, "too many %s: %d given, at most %d (a limit of this server; see the README's search limits)", what, n, limit)
	if param != "" {
		e.At(param)
	}
	return e
}

// checkLimits counts what params ask for before anything is parsed.
func checkLimits(params url.Values) error {
	criteria, values, includes := 0, 0, 0
	for name, vals := range params {
		base := baseName(name)
		switch {
		case base == "_include" || base == "_revinclude":
			includes += len(vals)
			continue
		case base == "_sort":
			n := 0
			for _, v := range vals {
				n += strings.Count(v, ",") + 1
			}
			if n > MaxSortKeys {
				return tooMany("_sort keys", n, MaxSortKeys, "_sort")
			}
			continue
		case controls[base]:
			continue
		}
		if d := strings.Count(name, ".") + strings.Count(name, "_has:"); d > MaxChainDepth {
			return tooMany("chained or _has steps in one parameter", d, MaxChainDepth, name)
		}
		criteria += len(vals)
		for _, v := range vals {
			n := strings.Count(v, ",") + 1 // an upper bound: escaped commas are rare
			if n > MaxValuesPerParameter {
				if n = len(SplitValues(v)); n > MaxValuesPerParameter {
					return tooMany("values of one parameter", n, MaxValuesPerParameter, name)
				}
			}
			values += n
		}
	}
	if criteria > MaxParameters {
		return tooMany("search parameters", criteria, MaxParameters, "")
	}
	if values > MaxValues {
		return tooMany("search values in one query", values, MaxValues, "")
	}
	if includes > MaxIncludes {
		return tooMany("_include and _revinclude parameters", includes, MaxIncludes, "_include")
	}
	return nil
}
