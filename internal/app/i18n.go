package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Languages the page speaks, in the order of the language switch.
var Languages = []Language{{"en", "English"}, {"km", "ខ្មែរ"}, {"th", "ไทย"}}

// Language is one of the page's languages: its BCP 47 tag and its own name.
type Language struct{ Tag, Name string }

func langIndex(tag string) int {
	for i, l := range Languages {
		if l.Tag == tag {
			return i
		}
	}
	return -1
}

// negotiate picks the page language from an Accept-Language header
// (RFC 9110 §12.5.4): the listed language with the highest weight that the
// page speaks, English when none.
func negotiate(header string) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if langIndex(primary) >= 0 && q > bestQ && q > 0 {
			best, bestQ = primary, q
		}
	}
	return best
}

// T translates message keys; a missing key is a programming error caught
// by TestEveryMessageTranslated, shown as the key rather than a blank.
func T(lang, key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	i := langIndex(lang)
	if i < 0 {
		i = 0
	}
	s := m[i]
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

var monthsEN = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
var monthsKM = [12]string{"មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"}
var monthsTH = [12]string{"ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."}

// FormatDate writes a FHIR date or dateTime ("2026", "2026-03",
// "2026-03-14", "2026-03-14T09:30:00+07:00") unambiguously: "14 Mar 2026",
// "14 មីនា 2026", "14 มี.ค. 2569" (Thai dates count Buddhist Era years, as
// Thai clinics write them), keeping only the precision the source gave.
// Anything else is shown as written.
func FormatDate(lang, fhirDate string) string {
	d := fhirDate
	if len(d) > 10 {
		d = d[:10]
	}
	parts := strings.Split(d, "-")
	year, err := strconv.Atoi(parts[0])
	if err != nil || len(parts[0]) != 4 {
		return fhirDate
	}
	if lang == "th" {
		year += 543
	}
	out := strconv.Itoa(year)
	if len(parts) >= 2 {
		m, err := strconv.Atoi(parts[1])
		if err != nil || m < 1 || m > 12 {
			return fhirDate
		}
		name := monthsEN[m-1]
		switch lang {
		case "km":
			name = monthsKM[m-1]
		case "th":
			name = monthsTH[m-1]
		}
		out = name + " " + out
		if len(parts) == 3 {
			day, err := strconv.Atoi(parts[2])
			if err != nil || day < 1 || day > 31 {
				return fhirDate
			}
			out = strconv.Itoa(day) + " " + out
		}
	}
	return out
}

// FormatTime writes an instant as its date and the local time of the
// page's zone: "14 Mar 2026 09:30".
func FormatTime(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return FormatDate(lang, t.Format("2006-01-02")) + " " + t.Format("15:04")
}

// messages are the page's words, {English, Khmer, Thai}.
var messages = map[string][3]string{
	"app.title":           {"Mekong clinic record", "កំណត់ត្រាគ្លីនិក Mekong", "ระเบียนคลินิก Mekong"},
	"app.tagline":         {"Health records of migrant workers across the border", "កំណត់ត្រាសុខភាពពលករចំណាកស្រុកឆ្លងព្រំដែន", "ระเบียนสุขภาพแรงงานข้ามชาติข้ามพรมแดน"},
	"nav.skip":            {"Skip to main content", "រំលងទៅមាតិកាចម្បង", "ข้ามไปยังเนื้อหาหลัก"},
	"nav.search":          {"Find a person", "ស្វែងរកបុគ្គល", "ค้นหาบุคคล"},
	"nav.language":        {"Language", "ភាសា", "ภาษา"},
	"nav.signout":         {"Sign out", "ចាកចេញ", "ออกจากระบบ"},
	"nav.signedin":        {"Signed in as %s", "បានចូលជា %s", "เข้าสู่ระบบในชื่อ %s"},
	"signin.title":        {"Sign in", "ចូល", "เข้าสู่ระบบ"},
	"signin.intro":        {"Sign in with your health service account to find and read records.", "ចូលដោយគណនីសេវាសុខាភិបាលរបស់អ្នក ដើម្បីស្វែងរក និងអានកំណត់ត្រា។", "เข้าสู่ระบบด้วยบัญชีหน่วยบริการสุขภาพของคุณเพื่อค้นหาและอ่านระเบียน"},
	"signin.button":       {"Sign in with %s", "ចូលតាមរយៈ %s", "เข้าสู่ระบบด้วย %s"},
	"signin.none":         {"No sign-in is configured for this page. Ask the administrator to set clinic_app in the auth configuration.", "មិនទាន់មានការកំណត់ការចូលសម្រាប់ទំព័រនេះទេ។ សូមស្នើអ្នកគ្រប់គ្រងឱ្យកំណត់ clinic_app ក្នុងការកំណត់ auth។", "ยังไม่ได้ตั้งค่าการเข้าสู่ระบบสำหรับหน้านี้ โปรดขอให้ผู้ดูแลระบบตั้งค่า clinic_app ในการตั้งค่า auth"},
	"signin.expired":      {"Your session ended. Please sign in again.", "វគ្គរបស់អ្នកបានបញ្ចប់។ សូមចូលម្ដងទៀត។", "เซสชันของคุณสิ้นสุดแล้ว โปรดเข้าสู่ระบบอีกครั้ง"},
	"dev.title":           {"Development sign-in", "ការចូលសម្រាប់ការអភិវឌ្ឍ", "การเข้าสู่ระบบสำหรับการพัฒนา"},
	"dev.warning":         {"DEVELOPMENT ONLY: this server runs with --dev. Pick a role; no password is asked. Never use it for real patients.", "សម្រាប់ការអភិវឌ្ឍតែប៉ុណ្ណោះ៖ ម៉ាស៊ីនមេនេះដំណើរការជាមួយ --dev។ ជ្រើសតួនាទី គ្មានពាក្យសម្ងាត់ទេ។ កុំប្រើសម្រាប់អ្នកជំងឺពិត។", "สำหรับการพัฒนาเท่านั้น: เซิร์ฟเวอร์นี้ทำงานด้วย --dev เลือกบทบาท ไม่ต้องใช้รหัสผ่าน ห้ามใช้กับผู้ป่วยจริง"},
	"dev.role":            {"Role", "តួនាទី", "บทบาท"},
	"dev.button":          {"Sign in (development)", "ចូល (ការអភិវឌ្ឍ)", "เข้าสู่ระบบ (การพัฒนา)"},
	"role.clinic":         {"Clinic staff", "បុគ្គលិកគ្លីនិក", "เจ้าหน้าที่คลินิก"},
	"role.clinic.desc":    {"Finds people and reads vaccinations and non-confidential results; may break the glass in an emergency.", "ស្វែងរកបុគ្គល និងអានការចាក់វ៉ាក់សាំង និងលទ្ធផលមិនសម្ងាត់ អាចបើកការចូលប្រើបន្ទាន់ក្នុងករណីអាសន្ន។", "ค้นหาบุคคล อ่านการฉีดวัคซีนและผลที่ไม่เป็นความลับ ขอเข้าถึงฉุกเฉินได้"},
	"role.clinician":      {"Clinician (sensitive data)", "គ្រូពេទ្យ (ទិន្នន័យរសើប)", "แพทย์ (ข้อมูลอ่อนไหว)"},
	"role.clinician.desc": {"Also reads HIV and TB results.", "អានលទ្ធផល HIV និងរបេងផងដែរ។", "อ่านผล HIV และวัณโรคได้ด้วย"},
	"role.steward":        {"Identity steward", "អ្នកថែរក្សាអត្តសញ្ញាណ", "ผู้ดูแลข้อมูลตัวตน"},
	"role.steward.desc":   {"Reviews and links records of one person.", "ពិនិត្យ និងភ្ជាប់កំណត់ត្រារបស់បុគ្គលតែមួយ។", "ตรวจสอบและเชื่อมโยงระเบียนของบุคคลเดียวกัน"},
	"role.auditor":        {"Auditor", "សវនករ", "ผู้ตรวจสอบ"},
	"role.auditor.desc":   {"Reads who saw each record.", "អានថាអ្នកណាបានមើលកំណត់ត្រានីមួយៗ។", "อ่านว่าใครเข้าดูแต่ละระเบียน"},
	"search.title":        {"Find a person", "ស្វែងរកបុគ្គល", "ค้นหาบุคคล"},
	"search.q":            {"Passport, Thai ID, IOM case number, Cambodian ID or name", "លិខិតឆ្លងដែន លេខអត្តសញ្ញាណថៃ លេខករណី IOM អត្តសញ្ញាណប័ណ្ណខ្មែរ ឬឈ្មោះ", "หนังสือเดินทาง เลขประจำตัวประชาชนไทย เลขเคส IOM บัตรประชาชนกัมพูชา หรือชื่อ"},
	"search.q.hint":       {"A name may be typed in Khmer, Thai or Latin letters.", "ឈ្មោះអាចវាយជាអក្សរខ្មែរ ថៃ ឬឡាតាំង។", "พิมพ์ชื่อเป็นอักษรเขมร ไทย หรือละตินได้"},
	"search.year":         {"Birth year (optional)", "ឆ្នាំកំណើត (ស្រេចចិត្ត)", "ปีเกิด (ไม่บังคับ)"},
	"search.button":       {"Search", "ស្វែងរក", "ค้นหา"},
	"search.results":      {"Results", "លទ្ធផល", "ผลการค้นหา"},
	"search.count":        {"%d found", "រកឃើញ %d", "พบ %d รายการ"},
	"search.none":         {"No one was found for this search.", "រកមិនឃើញនរណាម្នាក់សម្រាប់ការស្វែងរកនេះទេ។", "ไม่พบบุคคลจากการค้นหานี้"},
	"search.none.ident":   {"Check the number, or search by name and birth year instead.", "សូមពិនិត្យលេខម្ដងទៀត ឬស្វែងរកតាមឈ្មោះ និងឆ្នាំកំណើតជំនួសវិញ។", "ตรวจสอบหมายเลขอีกครั้ง หรือค้นหาด้วยชื่อและปีเกิดแทน"},
	"search.none.name":    {"Try the name in another script (Khmer, Thai or Latin), fewer letters, or a passport or ID number.", "សាកល្បងឈ្មោះជាអក្សរផ្សេង (ខ្មែរ ថៃ ឬឡាតាំង) អក្សរតិចជាងនេះ ឬលេខលិខិតឆ្លងដែន ឬអត្តសញ្ញាណ។", "ลองพิมพ์ชื่อด้วยอักษรอื่น (เขมร ไทย หรือละติน) ใช้ตัวอักษรน้อยลง หรือใช้เลขหนังสือเดินทางหรือเลขประจำตัว"},
	"search.empty":        {"Type a number or a name to search.", "សូមវាយលេខ ឬឈ្មោះដើម្បីស្វែងរក។", "พิมพ์หมายเลขหรือชื่อเพื่อค้นหา"},
	"search.year.bad":     {"The birth year must be four digits, such as 1990.", "ឆ្នាំកំណើតត្រូវមានបួនខ្ទង់ ឧ. 1990។", "ปีเกิดต้องเป็นตัวเลขสี่หลัก เช่น 1990"},
	"search.grade":        {"Match", "ការផ្គូផ្គង", "ความตรงกัน"},
	"grade.certain":       {"certain", "ប្រាកដ", "แน่นอน"},
	"grade.probable":      {"probable", "ប្រហែល", "น่าจะใช่"},
	"grade.possible":      {"possible", "អាចទៅរួច", "อาจใช่"},
	"person.born":         {"Born", "កើត", "เกิด"},
	"person.age":          {"%d years", "%d ឆ្នាំ", "%d ปี"},
	"person.sex":          {"Sex", "ភេទ", "เพศ"},
	"person.nationality":  {"Nationality", "សញ្ជាតិ", "สัญชาติ"},
	"person.ids":          {"Identifiers", "លេខសម្គាល់", "หมายเลขประจำตัว"},
	"person.sources":      {"Recorded by", "កត់ត្រាដោយ", "บันทึกโดย"},
	"person.linked":       {"Linked records", "កំណត់ត្រាដែលបានភ្ជាប់", "ระเบียนที่เชื่อมโยง"},
	"person.thisrecord":   {"this record", "កំណត់ត្រានេះ", "ระเบียนนี้"},
	"person.doubtful":     {"doubtful", "គួរសង្ស័យ", "น่าสงสัย"},
	"person.sections":     {"Sections of this record", "ផ្នែកនៃកំណត់ត្រានេះ", "ส่วนต่างๆ ของระเบียนนี้"},
	"sex.male":            {"Male", "ប្រុស", "ชาย"},
	"sex.female":          {"Female", "ស្រី", "หญิง"},
	"sex.other":           {"Other", "ផ្សេងៗ", "อื่นๆ"},
	"sex.unknown":         {"Unknown", "មិនស្គាល់", "ไม่ทราบ"},
	"country.KHM":         {"Cambodian", "ខ្មែរ", "กัมพูชา"},
	"country.THA":         {"Thai", "ថៃ", "ไทย"},
	"country.MMR":         {"Myanmar", "មីយ៉ាន់ម៉ា", "เมียนมา"},
	"country.LAO":         {"Lao", "ឡាវ", "ลาว"},
	"country.VNM":         {"Vietnamese", "វៀតណាម", "เวียดนาม"},
	"id.passport":         {"Passport (%s)", "លិខិតឆ្លងដែន (%s)", "หนังสือเดินทาง (%s)"},
	"id.passport.KHM":     {"Cambodian passport", "លិខិតឆ្លងដែនខ្មែរ", "หนังสือเดินทางกัมพูชา"},
	"id.passport.THA":     {"Thai passport", "លិខិតឆ្លងដែនថៃ", "หนังสือเดินทางไทย"},
	"id.passport.MMR":     {"Myanmar passport", "លិខិតឆ្លងដែនមីយ៉ាន់ម៉ា", "หนังสือเดินทางเมียนมา"},
	"id.passport.LAO":     {"Lao passport", "លិខិតឆ្លងដែនឡាវ", "หนังสือเดินทางลาว"},
	"id.thcid":            {"Thai ID", "អត្តសញ្ញាណថៃ", "เลขประจำตัวประชาชนไทย"},
	"id.iom":              {"IOM case", "ករណី IOM", "เคส IOM"},
	"id.khmnid":           {"Cambodian national ID", "អត្តសញ្ញាណប័ណ្ណសញ្ជាតិខ្មែរ", "บัตรประชาชนกัมพูชา"},
	"id.dhis2":            {"DHIS2 Cambodia record", "កំណត់ត្រា DHIS2 កម្ពុជា", "ระเบียน DHIS2 กัมพูชา"},
	"id.hn":               {"Hospital number, hospital %s", "លេខមន្ទីរពេទ្យ មន្ទីរពេទ្យ %s", "เลขที่ผู้ป่วย (HN) โรงพยาบาล %s"},
	"id.pid":              {"Person number, hospital %s", "លេខបុគ្គល មន្ទីរពេទ្យ %s", "เลขบุคคล (PID) โรงพยาบาล %s"},
	"id.other":            {"Other identifier", "លេខសម្គាល់ផ្សេង", "หมายเลขอื่น"},
	"source.th43":         {"Thai hospital (43 files)", "មន្ទីរពេទ្យថៃ (៤៣ឯកសារ)", "โรงพยาบาลไทย (43 แฟ้ม)"},
	"source.dhis2":        {"Cambodia DHIS2", "DHIS2 កម្ពុជា", "DHIS2 กัมพูชา"},
	"source.iom":          {"IOM health assessment", "ការវាយតម្លៃសុខភាព IOM", "การตรวจสุขภาพ IOM"},
	"source.other":        {"Other system", "ប្រព័ន្ធផ្សេង", "ระบบอื่น"},
	"place.hospital":      {"Hospital %s", "មន្ទីរពេទ្យ %s", "โรงพยาบาล %s"},
	"place.facility":      {"Facility %s", "មូលដ្ឋានសុខាភិបាល %s", "สถานพยาบาล %s"},
	"vacc.title":          {"Vaccinations", "ការចាក់វ៉ាក់សាំង", "การฉีดวัคซีน"},
	"vacc.none":           {"No vaccinations recorded.", "មិនមានការចាក់វ៉ាក់សាំងបានកត់ត្រាទេ។", "ไม่มีการบันทึกการฉีดวัคซีน"},
	"vacc.status":         {"%s: %d doses, last %s", "%s៖ %d ដូស ចុងក្រោយ %s", "%s: %d เข็ม ล่าสุด %s"},
	"vacc.status1":        {"%s: 1 dose, %s", "%s៖ 1 ដូស %s", "%s: 1 เข็ม %s"},
	"vacc.date":           {"Date", "កាលបរិច្ឆេទ", "วันที่"},
	"vacc.vaccine":        {"Vaccine", "វ៉ាក់សាំង", "วัคซีน"},
	"vacc.dose":           {"Dose", "ដូស", "เข็มที่"},
	"vacc.lot":            {"Lot", "លេខឡូត៍", "ล็อต"},
	"place":               {"Place", "ទីកន្លែង", "สถานที่"},
	"source":              {"Source", "ប្រភព", "แหล่งข้อมูล"},
	"disease.covid":       {"COVID-19", "កូវីដ-១៩", "โควิด-19"},
	"results.title":       {"Test results", "លទ្ធផលតេស្ត", "ผลการตรวจ"},
	"results.none":        {"No test results recorded.", "មិនមានលទ្ធផលតេស្តបានកត់ត្រាទេ។", "ไม่มีการบันทึกผลการตรวจ"},
	"results.test":        {"Test", "តេស្ត", "การตรวจ"},
	"results.result":      {"Result", "លទ្ធផល", "ผล"},
	"results.date":        {"Date", "កាលបរិច្ឆេទ", "วันที่"},
	"conf.marker":         {"Confidential", "សម្ងាត់", "ความลับ"},
	"conf.explain":        {"Confidential result: share only with those treating this person.", "លទ្ធផលសម្ងាត់៖ ចែករំលែកតែជាមួយអ្នកព្យាបាលបុគ្គលនេះប៉ុណ្ណោះ។", "ผลที่เป็นความลับ: เปิดเผยเฉพาะผู้ที่ให้การรักษาบุคคลนี้"},
	"test.covid.pcr":      {"COVID-19 PCR", "កូវីដ-១៩ PCR", "โควิด-19 PCR"},
	"test.covid.ag":       {"COVID-19 rapid antigen", "កូវីដ-១៩ តេស្តរហ័ស", "โควิด-19 ตรวจแอนติเจนเร็ว"},
	"test.tb.cxr":         {"TB: chest X-ray", "របេង៖ ថតកាំរស្មីទ្រូង", "วัณโรค: เอกซเรย์ทรวงอก"},
	"test.tb.smear":       {"TB: sputum smear", "របេង៖ ស្មៀរកំហាក", "วัณโรค: ย้อมเสมหะ"},
	"test.tb.culture":     {"TB: culture", "របេង៖ ដាំមេរោគ", "วัณโรค: เพาะเชื้อ"},
	"test.tb.xpert":       {"TB: Xpert MTB", "របេង៖ Xpert MTB", "วัณโรค: Xpert MTB"},
	"test.tb.rif":         {"TB: rifampicin resistance (Xpert)", "របេង៖ ភាពស៊ាំនឹង rifampicin (Xpert)", "วัณโรค: การดื้อยาริแฟมพิซิน (Xpert)"},
	"test.tb.igra":        {"TB: IGRA blood test", "របេង៖ តេស្តឈាម IGRA", "วัณโรค: ตรวจเลือด IGRA"},
	"test.tb.class":       {"TB classification", "ចំណាត់ថ្នាក់របេង", "การจำแนกวัณโรค"},
	"test.tb.other":       {"TB screening", "ការពិនិត្យរបេង", "การคัดกรองวัณโรค"},
	"test.hiv":            {"HIV test", "តេស្ត HIV", "การตรวจ HIV"},
	"test.hiv.rapid":      {"HIV rapid test", "តេស្ត HIV រហ័ស", "การตรวจ HIV แบบเร็ว"},
	"test.hiv.status":     {"HIV status", "ស្ថានភាព HIV", "สถานะ HIV"},
	"test.hiv.vl":         {"HIV viral load", "បន្ទុកមេរោគ HIV", "ปริมาณไวรัส HIV"},
	"value.negative":      {"Negative", "អវិជ្ជមាន", "ลบ"},
	"value.positive":      {"Positive", "វិជ្ជមាន", "บวก"},
	"value.detected":      {"Detected", "រកឃើញ", "ตรวจพบ"},
	"value.notdetected":   {"Not detected", "រកមិនឃើញ", "ตรวจไม่พบ"},
	"value.normal":        {"Normal", "ធម្មតា", "ปกติ"},
	"value.abnormal":      {"Abnormal", "មិនធម្មតា", "ผิดปกติ"},
	"value.abnormalnottb": {"Abnormal, not suggestive of TB", "មិនធម្មតា មិនសង្ស័យរបេង", "ผิดปกติ ไม่สงสัยวัณโรค"},
	"value.notb":          {"No TB", "គ្មានរបេង", "ไม่เป็นวัณโรค"},
	"value.tbclass":       {"Class %s", "ថ្នាក់ %s", "ประเภท %s"},
	"value.abnormaltb":    {"Abnormal, suggestive of TB", "មិនធម្មតា សង្ស័យរបេង", "ผิดปกติ สงสัยวัณโรค"},
	"value.mtbisolated":   {"M. tuberculosis isolated", "រកឃើញមេរោគរបេង (M. tuberculosis)", "พบเชื้อวัณโรค (M. tuberculosis)"},
	"value.ntm":           {"Non-tuberculous mycobacteria isolated", "រកឃើញមីកូបាក់តេរីមិនមែនរបេង", "พบเชื้อมัยโคแบคทีเรียที่ไม่ใช่วัณโรค"},
	"value.contaminated":  {"Contaminated sample", "សំណាកកខ្វក់", "ตัวอย่างปนเปื้อน"},
	"value.invalid":       {"Invalid result", "លទ្ធផលមិនត្រឹមត្រូវ", "ผลใช้ไม่ได้"},
	"value.indeterminate": {"Indeterminate", "មិនអាចកំណត់បាន", "สรุปผลไม่ได้"},
	"value.none":          {"no value", "គ្មានតម្លៃ", "ไม่มีค่า"},
	"status.preliminary":  {"preliminary", "បឋម", "เบื้องต้น"},
	"timeline.title":      {"Timeline", "កាលប្បវត្តិ", "ลำดับเหตุการณ์"},
	"timeline.none":       {"Nothing recorded yet.", "មិនទាន់មានអ្វីកត់ត្រានៅឡើយ។", "ยังไม่มีการบันทึก"},
	"timeline.vacc":       {"Vaccination: %s", "ការចាក់វ៉ាក់សាំង៖ %s", "ฉีดวัคซีน: %s"},
	"timeline.result":     {"%s: %s", "%s៖ %s", "%s: %s"},
	"docs.title":          {"Documents", "ឯកសារ", "เอกสาร"},
	"docs.card":           {"COVID-19 vaccination card (SMART Health Card)", "ប័ណ្ណចាក់វ៉ាក់សាំងកូវីដ-១៩ (SMART Health Card)", "บัตรวัคซีนโควิด-19 (SMART Health Card)"},
	"docs.ips":            {"Patient summary (IPS) to print", "សេចក្ដីសង្ខេបអ្នកជំងឺ (IPS) សម្រាប់បោះពុម្ព", "สรุปข้อมูลผู้ป่วย (IPS) สำหรับพิมพ์"},
	"docs.download":       {"Download in a source format", "ទាញយកជាទម្រង់ប្រភព", "ดาวน์โหลดในรูปแบบต้นทาง"},
	"docs.th43":           {"Thai 43 files (ZIP)", "ឯកសារថៃ ៤៣ (ZIP)", "43 แฟ้ม (ZIP)"},
	"docs.dhis2":          {"DHIS2 tracker payload (JSON)", "ទិន្នន័យ DHIS2 tracker (JSON)", "ข้อมูล DHIS2 tracker (JSON)"},
	"card.partial":        {"All doses do not fit in one QR code: this card holds the latest %d. Every dose is on the record above.", "ដូសទាំងអស់មិនអាចដាក់ក្នុងកូដ QR តែមួយបានទេ៖ ប័ណ្ណនេះមាន %d ដូសចុងក្រោយ។ ដូសទាំងអស់មាននៅក្នុងកំណត់ត្រាខាងលើ។", "ทุกเข็มไม่พอดีในคิวอาร์โค้ดเดียว: บัตรนี้มี %d เข็มล่าสุด ทุกเข็มอยู่ในระเบียนด้านบน"},
	"docs.print":          {"Print", "បោះពុម្ព", "พิมพ์"},
	"docs.back":           {"Back to the record", "ត្រឡប់ទៅកំណត់ត្រា", "กลับไปที่ระเบียน"},
	"btg.title":           {"Emergency access", "ការចូលប្រើបន្ទាន់", "การเข้าถึงฉุกเฉิน"},
	"btg.explain":         {"Confidential results (HIV, TB) are hidden from your role, whether or not this person has any. In an emergency you may open this person's confidential results for %d minutes. Your name, the time and your reason are recorded and reviewed by auditors.", "លទ្ធផលសម្ងាត់ (HIV របេង) ត្រូវបានលាក់ពីតួនាទីរបស់អ្នក ទោះបុគ្គលនេះមាន ឬគ្មានក៏ដោយ។ ក្នុងករណីអាសន្ន អ្នកអាចបើកលទ្ធផលសម្ងាត់របស់បុគ្គលនេះបាន %d នាទី។ ឈ្មោះ ពេលវេលា និងហេតុផលរបស់អ្នកត្រូវបានកត់ត្រា និងពិនិត្យដោយសវនករ។", "ผลที่เป็นความลับ (HIV วัณโรค) ถูกซ่อนจากบทบาทของคุณ ไม่ว่าบุคคลนี้จะมีหรือไม่ก็ตาม ในกรณีฉุกเฉินคุณเปิดดูผลที่เป็นความลับของบุคคลนี้ได้ %d นาที ชื่อ เวลา และเหตุผลของคุณจะถูกบันทึกและตรวจสอบโดยผู้ตรวจสอบ"},
	"btg.reason":          {"Reason for emergency access", "ហេតុផលនៃការចូលប្រើបន្ទាន់", "เหตุผลในการเข้าถึงฉุกเฉิน"},
	"btg.button":          {"Open confidential results", "បើកលទ្ធផលសម្ងាត់", "เปิดผลที่เป็นความลับ"},
	"btg.active":          {"Emergency access is open until %s. Reason: %s", "ការចូលប្រើបន្ទាន់បើករហូតដល់ %s។ ហេតុផល៖ %s", "การเข้าถึงฉุกเฉินเปิดถึง %s เหตุผล: %s"},
	"btg.started":         {"Emergency access opened and recorded.", "ការចូលប្រើបន្ទាន់ត្រូវបានបើក និងកត់ត្រា។", "เปิดการเข้าถึงฉุกเฉินและบันทึกแล้ว"},
	"log.title":           {"Who saw this record", "អ្នកណាបានមើលកំណត់ត្រានេះ", "ใครเข้าดูระเบียนนี้"},
	"log.link":            {"Who saw this record", "អ្នកណាបានមើលកំណត់ត្រានេះ", "ใครเข้าดูระเบียนนี้"},
	"log.when":            {"When", "ពេលណា", "เมื่อ"},
	"log.who":             {"Who", "អ្នកណា", "ใคร"},
	"log.what":            {"What", "អ្វី", "อะไร"},
	"log.why":             {"Why", "ហេតុអ្វី", "ทำไม"},
	"log.none":            {"No access has been recorded.", "មិនមានការចូលប្រើបានកត់ត្រាទេ។", "ยังไม่มีการบันทึกการเข้าถึง"},
	"log.emergency":       {"Emergency access started", "បានចាប់ផ្ដើមការចូលប្រើបន្ទាន់", "เริ่มการเข้าถึงฉุกเฉิน"},
	"log.read":            {"read %s", "បានអាន %s", "อ่าน %s"},
	"log.search":          {"searched %s", "បានស្វែងរក %s", "ค้นหา %s"},
	"log.write":           {"changed %s", "បានកែប្រែ %s", "แก้ไข %s"},
	"log.failed":          {"(refused or failed)", "(ត្រូវបានបដិសេធ ឬបរាជ័យ)", "(ถูกปฏิเสธหรือไม่สำเร็จ)"},
	"error.title":         {"Something went wrong", "មានបញ្ហាកើតឡើង", "เกิดข้อผิดพลาด"},
	"error.server":        {"The server could not complete this request. Reference: %s", "ម៉ាស៊ីនមេមិនអាចបំពេញសំណើនេះបានទេ។ លេខយោង៖ %s", "เซิร์ฟเวอร์ไม่สามารถดำเนินการคำขอนี้ได้ รหัสอ้างอิง: %s"},
	"error.notfound":      {"This record does not exist or is not available to you.", "កំណត់ត្រានេះមិនមាន ឬអ្នកមិនអាចចូលមើលបានទេ។", "ไม่มีระเบียนนี้ หรือคุณไม่มีสิทธิ์เข้าถึง"},
	"error.csrf":          {"This form has expired or did not come from this page. Go back, reload the page and try again.", "ទម្រង់នេះផុតកំណត់ ឬមិនមែនមកពីទំព័រនេះទេ។ សូមត្រឡប់ក្រោយ ផ្ទុកទំព័រឡើងវិញ ហើយព្យាយាមម្ដងទៀត។", "แบบฟอร์มนี้หมดอายุหรือไม่ได้มาจากหน้านี้ กลับไป โหลดหน้าใหม่ แล้วลองอีกครั้ง"},
	"error.forbidden":     {"Your role does not allow this.", "តួនាទីរបស់អ្នកមិនអនុញ្ញាតការនេះទេ។", "บทบาทของคุณไม่อนุญาตให้ทำสิ่งนี้"},
	"error.message":       {"Message from the server:", "សារពីម៉ាស៊ីនមេ៖", "ข้อความจากเซิร์ฟเวอร์:"},
	"error.back":          {"Back to search", "ត្រឡប់ទៅការស្វែងរក", "กลับไปค้นหา"},
	"nav.review":          {"Identity review", "ពិនិត្យអត្តសញ្ញាណ", "ตรวจสอบตัวตน"},
	"review.title":        {"Identity review", "ពិនិត្យអត្តសញ្ញាណ", "ตรวจสอบตัวตน"},
	"review.intro":        {"Records the matcher found probably the same person. Compare them and decide; every decision needs a reason and is recorded.", "កំណត់ត្រាដែលម៉ាស៊ីនផ្គូផ្គងរកឃើញថាប្រហែលជាបុគ្គលតែមួយ។ ប្រៀបធៀប និងសម្រេចចិត្ត។ ការសម្រេចចិត្តនីមួយៗត្រូវការហេតុផល និងត្រូវបានកត់ត្រា។", "ระเบียนที่ระบบจับคู่พบว่าน่าจะเป็นบุคคลเดียวกัน เปรียบเทียบแล้วตัดสินใจ ทุกการตัดสินใจต้องมีเหตุผลและถูกบันทึก"},
	"review.none":         {"No pairs wait for review.", "គ្មានគូណាមួយរង់ចាំការពិនិត្យទេ។", "ไม่มีคู่ที่รอการตรวจสอบ"},
	"review.count":        {"%d pairs wait for review", "មាន %d គូរង់ចាំការពិនិត្យ", "มี %d คู่รอการตรวจสอบ"},
	"review.pair":         {"Pair %d: score %s", "គូទី %d៖ ពិន្ទុ %s", "คู่ที่ %d: คะแนน %s"},
	"review.evidence":     {"Evidence", "ភស្តុតាង", "หลักฐาน"},
	"review.field":        {"Compared", "បានប្រៀបធៀប", "สิ่งที่เปรียบเทียบ"},
	"review.outcome":      {"Outcome", "លទ្ធផល", "ผล"},
	"review.weight":       {"Weight", "ទម្ងន់", "น้ำหนัก"},
	"review.detail":       {"Detail", "ព័ត៌មានលម្អិត", "รายละเอียด"},
	"review.reason":       {"Reason for your decision", "ហេតុផលនៃការសម្រេចចិត្តរបស់អ្នក", "เหตุผลของการตัดสินใจ"},
	"review.link":         {"Same person: link", "បុគ្គលតែមួយ៖ ភ្ជាប់", "บุคคลเดียวกัน: เชื่อมโยง"},
	"review.reject":       {"Different people: reject", "បុគ្គលផ្សេងគ្នា៖ បដិសេធ", "ต่างบุคคล: ปฏิเสธ"},
	"review.unlink":       {"Not the same person: unlink", "មិនមែនបុគ្គលតែមួយ៖ ផ្ដាច់", "ไม่ใช่บุคคลเดียวกัน: ยกเลิกการเชื่อมโยง"},
	"review.done.link":    {"Linked. The decision is recorded.", "បានភ្ជាប់។ ការសម្រេចចិត្តត្រូវបានកត់ត្រា។", "เชื่อมโยงแล้ว บันทึกการตัดสินใจแล้ว"},
	"review.done.unlink":  {"Decided different people. The decision is recorded.", "បានសម្រេចថាជាបុគ្គលផ្សេងគ្នា។ ការសម្រេចចិត្តត្រូវបានកត់ត្រា។", "ตัดสินว่าเป็นต่างบุคคลแล้ว บันทึกการตัดสินใจแล้ว"},
	"ev.name":             {"Name", "ឈ្មោះ", "ชื่อ"},
	"ev.birthDate":        {"Birth date", "ថ្ងៃខែឆ្នាំកំណើត", "วันเกิด"},
	"ev.gender":           {"Sex", "ភេទ", "เพศ"},
	"ev.nationality":      {"Nationality", "សញ្ជាតិ", "สัญชาติ"},
	"ev.agree":            {"agree", "ដូចគ្នា", "ตรงกัน"},
	"ev.disagree":         {"disagree", "ខុសគ្នា", "ไม่ตรงกัน"},
	"ev.partial":          {"partly agree", "ដូចគ្នាខ្លះ", "ตรงกันบางส่วน"},
	"ev.missing":          {"missing on one side", "ខ្វះម្ខាង", "ขาดข้อมูลด้านหนึ่ง"},
	"ev.conflict":         {"conflict", "ផ្ទុយគ្នា", "ขัดแย้งกัน"},
	"record.truncated":    {"This record is long: only its first %d entries of each kind are shown.", "កំណត់ត្រានេះវែង៖ បង្ហាញតែ %d ធាតុដំបូងនៃប្រភេទនីមួយៗប៉ុណ្ណោះ។", "ระเบียนนี้ยาว: แสดงเฉพาะ %d รายการแรกของแต่ละประเภท"},
}

// MessageKeys lists the page's message keys (tests check each is translated).
func MessageKeys() []string {
	keys := make([]string, 0, len(messages))
	for k := range messages {
		keys = append(keys, k)
	}
	return keys
}

// SameInEveryLanguage reports the messages that are written the same in
// every language (formats of punctuation only).
func SameInEveryLanguage(key string) bool { return key == "timeline.result" || key == "test.tb.xpert" }
