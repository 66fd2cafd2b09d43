package romanize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Khmer-script names and places with the Latin form their source gives.
// want is this romanizer's exact output (the diacritic-free practice);
// where the published Latin form differs only in spelling, TestNamePairs
// checks the two meet in the key.
func TestKhmer(t *testing.T) {
	for _, c := range []struct{ khmer, want, source string }{
		// UNGEGN gazetteer forms (UNGEGN WGRS report, Khmer; Cambodia's Geography
		// Department system without diacritics): Phnum Penh, Batdambang, Kampong Cham, Kampot.
		{"ភ្នំពេញ", "phnumpenh", "UNGEGN: Phnum Penh"},
		{"បាត់ដំបង", "batdambang", "UNGEGN: Batdambang"},
		{"កំពង់ចាម", "kampongcham", "UNGEGN: Kampong Cham"},
		{"កំពត", "kampot", "UNGEGN: Kampot"},
		// DC-Cam 1998 table: final ប is p (Siem Reap).
		{"សៀមរាប", "siemreap", "DC-Cam transliteration table 1998, note 1: Siem Reap"},
		// English Wikipedia articles that give the Khmer name.
		{"ហ៊ុន សែន", "hun sen", "en.wikipedia.org/wiki/Hun_Sen"},
		{"ប៉ុល ពត", "pol pot", "en.wikipedia.org/wiki/Pol_Pot"},
		{"លន់ នល់", "lon nol", "en.wikipedia.org/wiki/Lon_Nol"},
		{"នួន ជា", "nuon chea", "en.wikipedia.org/wiki/Nuon_Chea"},
		{"ហេង សំរិន", "heng samrin", "en.wikipedia.org/wiki/Heng_Samrin"},
		{"ជា ស៊ីម", "chea sim", "en.wikipedia.org/wiki/Chea_Sim"},
		{"សុខ អាន", "sokh an", "en.wikipedia.org/wiki/Sok_An (Sok)"},
		{"ប្រាក់ សុខុន", "prak sokhon", "en.wikipedia.org/wiki/Prak_Sokhonn"},
		{"ឈិត ជឿន", "chhit choeun", "en.wikipedia.org/wiki/Ta_Mok (born Chhit Choeun)"},
		{"ហ៊ុន ម៉ាណែត", "hun manet", "en.wikipedia.org/wiki/Hun_Manet"},
		{"រស់ សេរីសុទ្ធា", "ros serisotthea", "en.wikipedia.org/wiki/Ros_Serey_Sothea"},
		// Names of the examples.
		{"ស្រីពៅ", "sreipov", "issue 11: Srey Pov / Sreypov"},
		{"ឈុន", "chhun", "issue 11: Chhun / Chun"},
		{"ពេជ្រ", "pech", "issue 11: Pich / Pech (final cluster ជ្រ reads ch)"},
		{"ចាន់", "chan", "issue 11: Chan / Chann"},
		{"សុភា", "sophea", "issue 11: Sophea / Sophia"},
		{"ដារ៉ា", "dara", "mappings/iom sample: DARA ដារ៉ា (musikatoan makes រ a-series)"},
	} {
		if got := Khmer(c.khmer); got != c.want {
			t.Errorf("Khmer(%s) = %q, want %q (%s)", c.khmer, got, c.want, c.source)
		}
	}
}

// RTGS test vectors: interscript/maps@7a34ca5 maps-staging/royin-tha-Thai-Latn-1999.imp
// and Royal Institute examples of well-known place names.
func TestThai(t *testing.T) {
	for _, c := range []struct{ thai, want, source string }{
		{"เชียงใหม่", "chiangmai", "interscript royin-tha-Thai-Latn-1999 test vector"},
		{"สถานีปางต้นผึ้ง", "sathanipangtonphueng", "interscript royin-tha-Thai-Latn-1999 test vector"},
		{"กรุงเทพ", "krungthep", "RTGS: Krung Thep"},
		{"สุโขทัย", "sukhothai", "RTGS: Sukhothai"},
		{"ภูเก็ต", "phuket", "RTGS: Phuket"},
		{"แก้ว", "kaeo", "RTGS final ว is o"},
		{"จันทร์", "chan", "thanthakhat silences ทร"},
		{"สัมพันธ์", "samphan", "th.wikipedia: เขียว สัมพันธ์ (Khieu Samphan)"},
		{"วรรณัก", "wannak", "ro han before an open syllable"},
		{"สุวรรณ", "suwan", "ro han before a final"},
		{"โกศล", "koson", "a last consonant pair opens a syllable with o"},
		{"วิจิตร", "wichit", "ร after a final is silent"},
	} {
		if got := Thai(c.thai); got != c.want {
			t.Errorf("Thai(%s) = %q, want %q (%s)", c.thai, got, c.want, c.source)
		}
	}
	// The letter reading keeps the values a Thai writer chose for foreign sounds.
	for _, c := range []struct{ thai, want string }{
		{"พล", "phol"}, {"สุข", "sukh"}, {"เญม", "nhem"}, {"ศรีเพา", "sriphao"},
	} {
		if got := ThaiLetters(c.thai); got != c.want {
			t.Errorf("ThaiLetters(%s) = %q, want %q", c.thai, got, c.want)
		}
	}
}

// same reports how two forms of a name meet: "key" (equal keys, the
// strongest), "code" (equal phonetic codes) or "" (they do not).
func same(a, b string) string {
	ra, rb := Readings(a), Readings(b)
	how := ""
	for _, x := range ra {
		for _, y := range rb {
			kx, ky := Key(strings.ReplaceAll(x, " ", "")), Key(strings.ReplaceAll(y, " ", ""))
			if kx == ky {
				return "key"
			}
			if Code(strings.ReplaceAll(x, " ", "")) == Code(strings.ReplaceAll(y, " ", "")) {
				how = "code"
			}
		}
	}
	return how
}

// TestNamePairs: real name pairs in Khmer, Thai and Latin script. Each word
// of a name is compared on its own (family, given). want is the weakest
// agreement accepted: "key" or "code".
func TestNamePairs(t *testing.T) {
	for _, c := range []struct{ a, b, want, source string }{
		{"ហ៊ុន", "Hun", "key", "en.wikipedia.org/wiki/Hun_Sen"},
		{"សែន", "Sen", "key", "en.wikipedia.org/wiki/Hun_Sen"},
		{"ฮุน", "Hun", "key", "th.wikipedia.org/wiki/ฮุน_เซน"},
		{"เซน", "Sen", "key", "th.wikipedia.org/wiki/ฮุน_เซน"},
		{"เซน", "សែន", "key", "th.wikipedia.org/wiki/ฮุน_เซน (Khmer ហ៊ុន សែន)"},
		{"หุน", "ហ៊ុន", "key", "th.wikipedia.org/wiki/ฮุน_เซน (Thai transliteration หุน แสน)"},
		{"แสน", "Sen", "key", "th.wikipedia.org/wiki/ฮุน_เซน"},
		{"มาแณต", "Manet", "key", "th.wikipedia.org/wiki/ฮุน_เซน (ฮุน มาแณต)"},
		{"ម៉ាណែត", "มาแณต", "key", "en.wikipedia.org/wiki/Hun_Manet; th.wikipedia ฮุน เซน"},
		{"พล", "Pol", "key", "th.wikipedia.org/wiki/นวน_เจีย (พล พต)"},
		{"พต", "Pot", "key", "th.wikipedia.org/wiki/นวน_เจีย (พล พต)"},
		{"ប៉ុល", "พอล", "key", "en.wikipedia.org/wiki/Pol_Pot; th mirror hmong.in.th/wiki/Khieu_Samphan (พอล พต)"},
		{"นวน", "Nuon", "key", "th.wikipedia.org/wiki/นวน_เจีย"},
		{"เจีย", "Chea", "key", "th.wikipedia.org/wiki/นวน_เจีย"},
		{"នួន", "นวน", "key", "th.wikipedia.org/wiki/นวน_เจีย (នួន ជា)"},
		{"ជា", "เจีย", "key", "th.wikipedia.org/wiki/นวน_เจีย (នួន ជា)"},
		{"เอียง", "Ieng", "key", "th.wikipedia.org/wiki/เอียง_ซารี"},
		{"ซารี", "Sary", "key", "th.wikipedia.org/wiki/เอียง_ซารี"},
		{"អៀង", "เอียง", "key", "th.wikipedia.org/wiki/เอียง_ซารี (អៀង សារី)"},
		{"សារី", "ซารี", "key", "th.wikipedia.org/wiki/เอียง_ซารี (អៀង សារី)"},
		{"เขียว", "Khieu", "key", "th.wikipedia.org/wiki/นวน_เจีย (เขียว สัมพัน)"},
		{"ខៀវ", "Khieu", "key", "en.wikipedia.org/wiki/Khieu_Samphan"},
		{"สัมพัน", "Samphan", "key", "th.wikipedia.org/wiki/นวน_เจีย"},
		{"สัมพันธ์", "សំផន", "key", "hmong.in.th/wiki/Khieu_Samphan (Thai title); en.wikipedia Khmer"},
		{"เฮง", "Heng", "key", "hmong.in.th/wiki/Khieu_Samphan (เฮง สัมริน)"},
		{"สัมริน", "សំរិន", "key", "hmong.in.th/wiki/Khieu_Samphan; en.wikipedia.org/wiki/Heng_Samrin"},
		{"ฌิต", "Chhit", "key", "th.wikipedia.org/wiki/นวน_เจีย (ฌิต เชือน, Ta Mok)"},
		{"เชือน", "Choeun", "key", "th.wikipedia.org/wiki/นวน_เจีย (ฌิต เชือน)"},
		{"ตู", "Tou", "key", "th.wikipedia.org/wiki/นวน_เจีย (ตู สามุต, Tou Samouth)"},
		{"สามุต", "Samouth", "key", "th.wikipedia.org/wiki/นวน_เจีย (ตู สามุต)"},
		{"นโรดม", "Norodom", "code", "th.wikipedia.org/wiki/ฮุน_เซน (นโรดม สีหนุ)"},
		{"สีหมุนี", "Sihamoni", "code", "th.wikipedia.org/wiki/ฮุน_เซน (นโรดม สีหมุนี)"},
		{"នរោត្តម", "Norodom", "code", "en.wikipedia.org/wiki/Norodom_Sihamoni"},
		{"កឹម", "Kem", "code", "en.wikipedia.org/wiki/Kem_Sokha (កឹម សុខា)"},
		{"សុខា", "Sokha", "key", "en.wikipedia.org/wiki/Kem_Sokha"},
		{"ស៊ីសាមុត", "Sisamouth", "key", "en.wikipedia.org/wiki/Sinn_Sisamouth"},
		{"សេរីសុទ្ធា", "Sereysothea", "key", "en.wikipedia.org/wiki/Ros_Serey_Sothea"},
		{"សុខុន", "Sokhonn", "key", "en.wikipedia.org/wiki/Prak_Sokhonn"},
		{"សៀមរាប", "Siem Reab", "code", "UNGEGN gazetteer form Siem Reab"},
		{"តាកែវ", "Takeo", "key", "DC-Cam 1998 note 2: Takeo (no v)"},
		{"ព្រះវិហារ", "Preah Vihear", "key", "UNGEGN / province name Preah Vihear"},
		{"กิมลอน", "Kimlon", "key", "th.wikipedia.org/wiki/นวน_เจีย (born เล้า กิมลอน, Lao Kim Lorn)"},
	} {
		got := same(c.a, c.b)
		if got == "" || c.want == "key" && got != "key" {
			t.Errorf("%s ~ %s: %q, want %q (%s)", c.a, c.b, got, c.want, c.source)
		}
	}
}

// TestSpellingVariants: the variants issue 11 names meet in one key;
// different names do not.
func TestSpellingVariants(t *testing.T) {
	for _, g := range [][]string{
		{"Sok", "Sokh", "SOK", "Souk"},
		{"Chan", "Chann", "CHAN"},
		{"Sophea", "Sophia", "SOPHEA"},
		{"Srey Pov", "Sreypov", "Srei Pov", "SREYPOV"},
		{"Chhun", "Chun", "Chhunn"},
		{"Pich", "Pech"},
		{"Vuthy", "Vuthi"},
		{"Keo", "Kaeo", "Keov"},
		{"Oeun", "Oeurn"},
		{"Nhem", "Nyem"},
	} {
		want := Key(strings.ReplaceAll(Latin(g[0]), " ", ""))
		for _, v := range g[1:] {
			if got := Key(strings.ReplaceAll(Latin(v), " ", "")); got != want {
				t.Errorf("Key(%s) = %q, Key(%s) = %q: want one key", g[0], want, v, got)
			}
		}
	}
	for _, p := range [][2]string{{"Chan", "Chun"}, {"Sok", "Sam"}, {"Dara", "Sara"}, {"Sophea", "Sophal"}, {"Kim", "Keo"}, {"Srey Pov", "Srey Mom"}} {
		if Key(strings.ReplaceAll(Latin(p[0]), " ", "")) == Key(strings.ReplaceAll(Latin(p[1]), " ", "")) {
			t.Errorf("%s and %s share a key", p[0], p[1])
		}
	}
}

// TestThaiSpellingsOfKhmerNames: no published rule says how a Thai clerk
// writes a Khmer name (continuity.md §1.8), so several plausible spellings
// of each name must meet its Latin form.
func TestThaiSpellingsOfKhmerNames(t *testing.T) {
	for _, c := range []struct {
		latin string
		thai  []string
	}{
		{"Sok", []string{"สุข", "ซก", "โสก"}},
		{"Chan", []string{"จันทร์", "จัน", "ชาน"}},
		{"Dara", []string{"ดารา", "ดาร่า"}},
		{"Sophea", []string{"โสภา", "สุภา", "โซเพีย"}},
		{"Sreypov", []string{"ศรีเพา", "สรีเพา"}},
		{"Chhun", []string{"ชุน", "ฌุน"}},
		{"Pich", []string{"พิช", "เพ็ช", "เพ็ชร"}},
		{"Vannak", []string{"วรรณัก", "วันนัก"}},
		{"Kosal", []string{"โกศล", "กุสล"}},
		{"Keo", []string{"แก้ว", "แกว"}},
		{"Nuon", []string{"นวน", "นูน"}},
	} {
		for _, th := range c.thai {
			if same(c.latin, th) == "" {
				t.Errorf("%s ~ %s: no key or code in common (readings %q)", c.latin, th, Readings(th))
			}
		}
	}
}

// TestPhoneticTable: every Thai and Khmer consonant of data/phonetic.tsv
// romanizes into a Latin value of the same class, so a name gets one code
// from any script (the Khmer column is Mekong's extension of the 1998 table).
func TestPhoneticTable(t *testing.T) {
	for key, class := range tab.phon {
		script, letter, _ := strings.Cut(key, ":")
		if class == "0" || script == "latin" {
			continue
		}
		var latin string
		switch script {
		case "thai":
			latin = ThaiLetters(letter + "า")
		case "khmer":
			latin = Khmer(letter + "ា")
		}
		if got := Code("a" + latin); !strings.HasPrefix(got, "0"+class) {
			t.Errorf("%s %s reads %q, code %q: want class %s", script, letter, latin, got, class)
		}
	}
}

func TestScriptOf(t *testing.T) {
	for s, want := range map[string]Script{"សុខ": ScriptKhmer, "สุข": ScriptThai, "Sok": ScriptLatin, "Sôk": ScriptLatin, "123": ScriptOther, "ສຸກ": ScriptOther} {
		if got := ScriptOf(s); got != want {
			t.Errorf("ScriptOf(%s) = %s, want %s", s, got, want)
		}
	}
}

// FuzzReadings: names are outside input (every Patient written); no input
// may panic, and readings are lower-case a-z words.
func FuzzReadings(f *testing.F) {
	for _, s := range []string{"ហ៊ុន សែន", "สัมพันธ์", "Sôk Dara", "ស្រ្ត", "เ", "์์", "្្", "ៗ", "รรร", "หห", "ฤๅ", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range append(Readings(s), Khmer(s), Thai(s), ThaiLetters(s), Latin(s)) {
			for _, c := range r {
				if !(c >= 'a' && c <= 'z' || c == ' ') {
					t.Fatalf("reading %q of %q has %q", r, s, c)
				}
			}
			if len(r) > 8*len(s)+8 {
				t.Fatalf("reading of %d bytes for %d bytes of input", len(r), len(s))
			}
			k, c := Key(strings.ReplaceAll(r, " ", "")), Code(strings.ReplaceAll(r, " ", ""))
			if !utf8.ValidString(k) || len(c) > 8 {
				t.Fatalf("key %q code %q", k, c)
			}
		}
	})
}
