package eval

// nameEntry is one Khmer name with the spellings the generator draws from.
// Latin[0] is the spelling a Cambodian register (DHIS2) gives; the others are
// passport and NGO-list variants (aspirated or not, doubled finals, ea/ia,
// compounds joined or apart). Thai holds spellings a Thai clerk could give
// the name: no published rule exists for Khmer names in Thai script
// (continuity.md §1.8), so each entry has two or three plausible ones,
// written for the project. Gender: "m", "f" or "" (either) for given names.
type nameEntry struct {
	Khmer  string
	Latin  []string
	Thai   []string
	Gender string
}

// familyNames are common Cambodian family names, the first few much more
// often drawn than the rest (the generator's draw is skewed), so that many
// different people share them.
var familyNames = []nameEntry{
	{"សុខ", []string{"SOK", "SOKH", "SOUK"}, []string{"สุข", "ซก", "โสก"}, ""},
	{"ចាន់", []string{"CHAN", "CHANN"}, []string{"จันทร์", "จัน", "ชาน"}, ""},
	{"កែវ", []string{"KEO", "KEOV", "KAEV"}, []string{"แก้ว", "แกว", "เกา"}, ""},
	{"គីម", []string{"KIM", "KIMM"}, []string{"คิม", "กิม"}, ""},
	{"ហេង", []string{"HENG", "HEANG"}, []string{"เฮง", "เฮียง"}, ""},
	{"មាស", []string{"MEAS", "MEAH"}, []string{"เมียส", "มาส"}, ""},
	{"ជា", []string{"CHEA", "CHIA"}, []string{"เจีย", "เชีย"}, ""},
	{"លី", []string{"LY", "LEY", "LI"}, []string{"ลี", "หลี"}, ""},
	{"អ៊ុក", []string{"OUK", "UK", "OUKE"}, []string{"อุก", "โอก"}, ""},
	{"ពេជ្រ", []string{"PICH", "PECH"}, []string{"พิช", "เพ็ช", "เพ็ชร"}, ""},
	{"ប្រាក់", []string{"PRAK", "BRAK", "PRAKK"}, []string{"ปรัก", "ประก", "ปราก"}, ""},
	{"សេង", []string{"SENG", "SAING"}, []string{"เสง", "เซง"}, ""},
	{"ស៊ីម", []string{"SIM", "SIMM"}, []string{"ซิม", "สิม"}, ""},
	{"ទេព", []string{"TEP", "TEB", "TEPP"}, []string{"เทพ", "เต็บ", "เตป"}, ""},
	{"ឈុន", []string{"CHHUN", "CHUN", "CHHUNN"}, []string{"ชุน", "ฌุน"}, ""},
	{"នួន", []string{"NUON", "NOUN", "NUN"}, []string{"นวน", "นูน"}, ""},
	{"រស់", []string{"ROS", "ROSS", "RUOS"}, []string{"รส", "รัส", "โรส"}, ""},
	{"សាន", []string{"SAN", "SANN"}, []string{"ซาน", "สาน"}, ""},
	{"ទូច", []string{"TOUCH", "TOUC", "TOCH"}, []string{"ทูจ", "ตูจ", "ทุจ"}, ""},
	{"យិន", []string{"YIN", "YINN"}, []string{"ยิน"}, ""},
	{"ហែម", []string{"HEM", "HAEM"}, []string{"เฮม", "แฮม"}, ""},
	{"លឹម", []string{"LIM", "LEUM", "LIMM"}, []string{"ลิม", "ลึม"}, ""},
	{"ឡុង", []string{"LONG", "LUNG"}, []string{"ลอง", "หลง"}, ""},
	{"ម៉ៅ", []string{"MAO", "MAU"}, []string{"เม่า", "เมา"}, ""},
	{"ផាន់", []string{"PHAN", "PHANN", "PAN"}, []string{"พาน", "ผัน"}, ""},
	{"ថាច់", []string{"THACH", "TACH", "THACK"}, []string{"ทาจ", "ถาจ", "ทัช"}, ""},
	{"ញ៉ែម", []string{"NHEM", "NYEM", "NHIM"}, []string{"เญ็ม", "เญม"}, ""},
	{"ជុំ", []string{"CHUM", "CHOM"}, []string{"ชุม", "จุม"}, ""},
	{"ប៊ុន", []string{"BUN", "BOUN"}, []string{"บุน", "บุ๋น"}, ""},
	{"សៅ", []string{"SAO", "SAU"}, []string{"เสา", "ซาว"}, ""},
	{"ឃុន", []string{"KHUN", "KUN"}, []string{"คุน", "ขุน"}, ""},
	{"អឿន", []string{"OEUN", "OEURN", "OUEN"}, []string{"เอือน", "เอิน"}, ""},
	{"តាន់", []string{"TAN", "TANN"}, []string{"ตาน", "ตัน"}, ""},
	{"គង់", []string{"KONG", "KUNG"}, []string{"คง", "กง"}, ""},
	{"សួន", []string{"SOUN", "SUON", "SUN"}, []string{"สวน", "ซวน"}, ""},
	{"វ៉ា", []string{"VAR", "VA"}, []string{"วา", "หวา"}, ""},
}

// givenNames are common Cambodian given names.
var givenNames = []nameEntry{
	{"ដារ៉ា", []string{"DARA", "DARAH", "DARRA"}, []string{"ดารา", "ดาร่า"}, "m"},
	{"សុភា", []string{"SOPHEA", "SOPHIA", "SOPHEAR"}, []string{"โสภา", "สุภา", "โซเพีย"}, "f"},
	{"សុខា", []string{"SOKHA", "SOKHAR", "SOKA"}, []string{"สุขา", "โสขา"}, ""},
	{"ស្រីពៅ", []string{"SREYPOV", "SREY POV", "SREI POV"}, []string{"ศรีเพา", "สรีเพา", "ซรีพอ"}, "f"},
	{"ស្រីមុំ", []string{"SREYMOM", "SREY MOM", "SREIMOM"}, []string{"ศรีมม", "สรีมุม"}, "f"},
	{"វណ្ណៈ", []string{"VANNAK", "VANAK", "VANNAKK"}, []string{"วรรณัก", "วันนัก", "วันนาก"}, "m"},
	{"រតនា", []string{"RATHANA", "RATANA", "RATTANA"}, []string{"รัตนา", "รัทนา"}, ""},
	{"បុប្ផា", []string{"BOPHA", "BUPPHA", "BOPPHA"}, []string{"บุปผา", "โบพา"}, "f"},
	{"ចិន្តា", []string{"CHENDA", "CHINDA", "CHENTA"}, []string{"จินดา", "เจนดา"}, "f"},
	{"សុផល", []string{"SOPHAL", "SOPHALL", "SOPAL"}, []string{"โสพัล", "สุผล"}, "m"},
	{"វុទ្ធី", []string{"VUTHY", "VUTHI", "VUTHEA"}, []string{"วุฒิ", "วุทธี"}, "m"},
	{"ពិសី", []string{"PISEY", "PISEI", "PISY"}, []string{"พิสี", "ปิเสย"}, "f"},
	{"គន្ធា", []string{"KUNTHEA", "KUNTHIA", "KONTHEA"}, []string{"กุนธา", "คันธา", "กุนเทีย"}, "f"},
	{"ពិសិដ្ឋ", []string{"PISETH", "PISET", "PISITH"}, []string{"พิเสฐ", "พิเสด", "ปิเสธ"}, "m"},
	{"វិសាល", []string{"VISAL", "VISALL", "VESAL"}, []string{"วิสาล", "วิซาล"}, "m"},
	{"កុសល", []string{"KOSAL", "KOSALL", "KOSOL"}, []string{"โกศล", "กุสล"}, "m"},
	{"សំណាង", []string{"SAMNANG", "SAMNAN", "SAMNAANG"}, []string{"สำนาง", "สัมนาง"}, "m"},
	{"វិបុល", []string{"VIBOL", "VIBUL", "VIBOLL"}, []string{"วิบุล", "วิบล"}, "m"},
	{"សុវណ្ណ", []string{"SOVANN", "SOVAN", "SOVANNE"}, []string{"โสวัณ", "สุวรรณ"}, "m"},
	{"ធីតា", []string{"THIDA", "TIDA", "THEDA"}, []string{"ธิดา", "ทีดา"}, "f"},
	{"នារី", []string{"NARY", "NARI", "NEARY"}, []string{"นารี", "นารี่"}, "f"},
	{"សុភាព", []string{"SOPHEAP", "SOPHEAB", "SOPHIP"}, []string{"โสภาพ", "สุเพียบ"}, "f"},
	{"មករា", []string{"MAKARA", "MAKAR", "MAKKARA"}, []string{"มกรา", "มาการา"}, "m"},
	{"សុធា", []string{"SOTHEA", "SOTHIA", "SOTHEAR"}, []string{"โสธา", "สุธา"}, "m"},
	{"ផល្លា", []string{"PHALLA", "PHALA", "PALLA"}, []string{"ผัลลา", "พัลลา"}, "f"},
	{"ចាន់ណារី", []string{"CHANNARY", "CHANARY", "CHANNARI"}, []string{"จันนารี", "ชานนารี"}, "f"},
	{"ស្រីនាង", []string{"SREYNEANG", "SREY NEANG", "SREINEANG"}, []string{"ศรีเนียง", "สรีนาง"}, "f"},
	{"ភក្ដី", []string{"PHEAKDEY", "PHEAKDEI", "PEAKDEY"}, []string{"เพียกดี", "ภักดี"}, "m"},
	{"មុនី", []string{"MONY", "MONI", "MONIE"}, []string{"มุนี", "โมนี"}, ""},
	{"ចន្ធី", []string{"CHANTHY", "CHANTHI", "CHANTY"}, []string{"จันที", "จันธี"}, "f"},
	{"ដាលីន", []string{"DALIN", "DALINE", "DALYN"}, []string{"ดาลีน", "ดาลิน"}, "f"},
	{"លីណា", []string{"LINA", "LEENA", "LYNA"}, []string{"ลีนา", "ลินา"}, "f"},
	{"វណ្ណា", []string{"VANNA", "VANA", "VANNAH"}, []string{"วรรณา", "วันนา"}, ""},
	{"ឫទ្ធី", []string{"RITHY", "RITHI", "RETHY"}, []string{"ฤทธี", "ริทธี"}, "m"},
	{"សុគន្ធា", []string{"SOKUNTHEA", "SOKUNTHIA", "SOKONTHEA"}, []string{"สุคันธา", "โสกุนเทีย"}, "f"},
	{"គីមសួរ", []string{"KIMSOUR", "KIM SOUR", "KIMSOR"}, []string{"คิมสวร", "กิมซัว"}, "f"},
	{"ស្រីល័ក្ខ", []string{"SREYLEAK", "SREY LEAK", "SREILEAK"}, []string{"ศรีเลียก", "สรีลัก"}, "f"},
	{"ប៊ុនធឿន", []string{"BUNTHOEUN", "BUNTHOEURN", "BUNTHEUN"}, []string{"บุนเทือน", "บุญเทือน"}, "m"},
	{"ចំរើន", []string{"CHAMROEUN", "CHAMREUN", "CHAMROEURN"}, []string{"จำเริญ", "จำเรือน"}, "m"},
	{"សម្បត្តិ", []string{"SAMBATH", "SAMBAT", "SAMBATT"}, []string{"สมบัติ", "สัมบัต"}, "m"},
	{"វាសនា", []string{"VEASNA", "VISNA", "VEASANA"}, []string{"เวียสนา", "วาสนา"}, "m"},
	{"ស្រីណា", []string{"SREYNA", "SREY NA", "SREINA"}, []string{"ศรีนา", "สรีณา"}, "f"},
	{"កញ្ញា", []string{"KANHA", "KANHNHA", "KANHAR"}, []string{"กัญญา", "กันยา"}, "f"},
	{"សុខុម", []string{"SOKHOM", "SOKHUM", "SOKOM"}, []string{"สุขม", "โสคม"}, "m"},
	{"សុភី", []string{"SOPHY", "SOPHI", "SOPHIE"}, []string{"โสภี", "สุภี"}, "f"},
	{"រដ្ឋា", []string{"RATHA", "RATTHA", "RATA"}, []string{"รัฐา", "รัตถา"}, "m"},
	{"សីហា", []string{"SEYHA", "SEIHA", "SEHA"}, []string{"สีหา", "เสยหา"}, "m"},
	{"និមល", []string{"NIMOL", "NIMUL", "NIMOLL"}, []string{"นิมล", "นิโมล"}, "f"},
	{"នរិទ្ធ", []string{"NARITH", "NARIT", "NARETH"}, []string{"นริทธิ์", "นาริท"}, "m"},
	{"សុធី", []string{"SOTHY", "SOTHI", "SOTY"}, []string{"โสธี", "สุธี"}, "m"},
	{"លក្ខិណា", []string{"LEAKHENA", "LEAKHINA", "LEAKENA"}, []string{"เลียกขิณา", "ลักขิณา"}, "f"},
	{"វិចិត្រ", []string{"VICHET", "VICHETH", "VICHEAT"}, []string{"วิจิตร", "วิเชต"}, "m"},
	{"កុសុមា", []string{"KOSOMA", "KOSUMA"}, []string{"โกสุมา", "กุสุมา"}, "f"},
	{"ភាព", []string{"PHEAP", "PHEAB", "PEAP"}, []string{"เพียบ", "ภาพ"}, ""},
}

// Names only the held-out split draws (added after the configuration and the
// key rules were tuned on the other split): a check that the romanizers and
// keys generalise to names and spellings they were not shaped on.
var holdoutFamilyNames = []nameEntry{
	{"ហួត", []string{"HUOT", "HOUT", "HUT"}, []string{"ฮวด", "หวด"}, ""},
	{"ម៉ម", []string{"MOM", "MORM"}, []string{"มอม", "ม่อม"}, ""},
	{"អ៊ឹម", []string{"IM", "EUM", "IMM"}, []string{"อึม", "อิม"}, ""},
	{"ឌុក", []string{"DUK", "DOUK"}, []string{"ดุก", "ดุ๊ก"}, ""},
	{"ស្រេង", []string{"SRENG", "SRING"}, []string{"สเรง", "เสรง"}, ""},
	{"ឃឹម", []string{"KHIM", "KHEUM", "KHEM"}, []string{"คึม", "ขิม"}, ""},
	{"ណុប", []string{"NOP", "NUP", "NOB"}, []string{"นบ", "โนบ"}, ""},
	{"ទិត្យ", []string{"TITH", "TIT"}, []string{"ทิตย์", "ทิต"}, ""},
}

var holdoutGivenNames = []nameEntry{
	{"សុភ័ក្ត្រ", []string{"SOPHEAK", "SOPHEAKK", "SOPHEK"}, []string{"โสเพียก", "สุภัก"}, ""},
	{"ធារី", []string{"THEARY", "TEARY", "THEARI"}, []string{"เธียรี", "ธารี"}, "f"},
	{"ចន្ថា", []string{"CHANTHA", "CHANTA"}, []string{"จันทา", "จันถา"}, "f"},
	{"សុជាតិ", []string{"SOCHEAT", "SOCHIET", "SOCHEAT"}, []string{"โสเจียด", "สุชาติ"}, ""},
	{"ពិសាល", []string{"PISAL", "PISALL", "PHISAL"}, []string{"พิสาล", "ปิซาล"}, "m"},
	{"បូរី", []string{"BOREY", "BORY", "BOREI"}, []string{"บูรี", "บอรี"}, ""},
	{"សុខលី", []string{"SOKLY", "SOKHLY", "SOK LY"}, []string{"สุขลี", "ซกลี"}, ""},
	{"ម៉ាលី", []string{"MALY", "MALI", "MALEY"}, []string{"มาลี", "ม่าลี"}, "f"},
	{"វីរៈ", []string{"VIREAK", "VIRAK", "VIREAKK"}, []string{"วิเรียก", "วีรัก"}, "m"},
	{"ស្រីនិច", []string{"SREYNICH", "SREY NICH", "SREINICH"}, []string{"ศรีนิจ", "สรีนิช"}, "f"},
	{"រស្មី", []string{"RASMEY", "RASMEI", "RAKSMEY"}, []string{"รัศมี", "ระสเมย"}, "f"},
	{"ឧត្តម", []string{"UDOM", "OUDOM", "UDDOM"}, []string{"อุดม", "โอดม"}, "m"},
}
