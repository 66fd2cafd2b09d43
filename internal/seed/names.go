package seed

// Names and places. The names are common given names, family names and
// syllables of each country, in native script with the usual Latin
// transliteration, combined at random: no entry stands for a real person.

// name is one name part in Latin transliteration and native script.
type name struct{ Latin, Native string }

type nameSet struct {
	Male, Female, Family []name
}

var khmerNames = nameSet{
	Male: []name{
		{"Dara", "ដារ៉ា"}, {"Sophal", "សុផល"}, {"Vuthy", "វុទ្ធី"}, {"Rithy", "រិទ្ធី"}, {"Samnang", "សំណាង"},
		{"Vannak", "វណ្ណៈ"}, {"Kosal", "កុសល"}, {"Sambath", "សម្បត្តិ"}, {"Virak", "វីរៈ"}, {"Piseth", "ពិសិដ្ឋ"},
		{"Visal", "វិសាល"}, {"Chanthy", "ចាន់ធី"}, {"Bunthoeun", "ប៊ុនធឿន"}, {"Makara", "មករា"}, {"Sokha", "សុខា"},
		{"Pheakdey", "ភក្ដី"},
	},
	Female: []name{
		{"Sreymom", "ស្រីមុំ"}, {"Sophea", "សុភា"}, {"Channary", "ចន្ទនារី"}, {"Bopha", "បុប្ផា"}, {"Sokunthea", "សុគន្ធា"},
		{"Dalin", "ដាលីន"}, {"Kanha", "កញ្ញា"}, {"Leakhena", "លក្ខិណា"}, {"Neary", "នារី"}, {"Sothea", "សុធា"},
		{"Theary", "ធារី"}, {"Vanna", "វណ្ណា"}, {"Sreypov", "ស្រីពៅ"}, {"Chenda", "ចិន្តា"}, {"Raksmey", "រស្មី"},
		{"Sokleap", "សុខលាភ"},
	},
	Family: []name{
		{"Sok", "សុខ"}, {"Chan", "ចាន់"}, {"Keo", "កែវ"}, {"Chea", "ជា"}, {"Heng", "ហេង"}, {"Kim", "គឹម"},
		{"Ly", "លី"}, {"Meas", "មាស"}, {"Pich", "ពេជ្រ"}, {"Prak", "ប្រាក់"}, {"Seng", "សេង"}, {"Sun", "ស៊ុន"},
		{"Touch", "ទូច"}, {"Yim", "យឹម"}, {"Mao", "ម៉ៅ"}, {"Ouk", "អ៊ុក"}, {"Phan", "ផាន់"}, {"Nuon", "នួន"},
		{"Chhim", "ឈឹម"}, {"Tep", "ទេព"}, {"Vong", "វង្ស"}, {"Som", "សោម"}, {"Em", "អែម"}, {"Long", "ឡុង"},
	},
}

var thaiNames = nameSet{
	Male: []name{
		{"Somchai", "สมชาย"}, {"Somsak", "สมศักดิ์"}, {"Prasert", "ประเสริฐ"}, {"Wichai", "วิชัย"}, {"Anan", "อนันต์"},
		{"Chaiwat", "ชัยวัฒน์"}, {"Kittisak", "กิตติศักดิ์"}, {"Nattapong", "ณัฐพงศ์"}, {"Surachai", "สุรชัย"},
		{"Thanakorn", "ธนากร"}, {"Wirat", "วิรัตน์"}, {"Pongsakorn", "พงศกร"}, {"Apichat", "อภิชาติ"},
	},
	Female: []name{
		{"Somsri", "สมศรี"}, {"Malee", "มาลี"}, {"Suda", "สุดา"}, {"Nittaya", "นิตยา"}, {"Pranee", "ปราณี"},
		{"Wanida", "วนิดา"}, {"Kanokwan", "กนกวรรณ"}, {"Siriporn", "ศิริพร"}, {"Rattana", "รัตนา"},
		{"Jintana", "จินตนา"}, {"Pornthip", "พรทิพย์"}, {"Supaporn", "สุภาพร"},
	},
	Family: []name{
		{"Boonmee", "บุญมี"}, {"Srisuk", "ศรีสุข"}, {"Thongdee", "ทองดี"}, {"Jaidee", "ใจดี"}, {"Sukjai", "สุขใจ"},
		{"Kaewkham", "แก้วคำ"}, {"Phromma", "พรหมมา"}, {"Saengthong", "แสงทอง"}, {"Chanthong", "จันทร์ทอง"},
		{"Ruangsri", "เรืองศรี"}, {"Thongsuk", "ทองสุข"}, {"Wongsawat", "วงศ์สวัสดิ์"}, {"Saetang", "แซ่ตั้ง"},
		{"Intharat", "อินทรัตน์"}, {"Phothong", "โพธิ์ทอง"}, {"Sriwichai", "ศรีวิชัย"},
	},
}

var laoNames = nameSet{
	Male: []name{
		{"Somphone", "ສົມພອນ"}, {"Bounmy", "ບຸນມີ"}, {"Khamphet", "ຄຳເພັດ"}, {"Souksavanh", "ສຸກສະຫວັນ"},
		{"Phonesavanh", "ພອນສະຫວັນ"}, {"Thongchanh", "ທອງຈັນ"}, {"Sengphet", "ແສງເພັດ"}, {"Bounthanh", "ບຸນທັນ"},
		{"Somsack", "ສົມສັກ"}, {"Vilaysack", "ວິໄລສັກ"},
	},
	Female: []name{
		{"Manivone", "ມະນີວອນ"}, {"Souphaphone", "ສຸພາພອນ"}, {"Noy", "ນ້ອຍ"}, {"Chanthala", "ຈັນທະລາ"},
		{"Vilayvanh", "ວິໄລວັນ"}, {"Dalavanh", "ດາລາວັນ"}, {"Mali", "ມະລິ"}, {"Phetsamone", "ເພັດສະໝອນ"},
		{"Khamsouk", "ຄຳສຸກ"}, {"Latsamy", "ລັດສະໝີ"},
	},
	Family: []name{
		{"Phommachanh", "ພົມມະຈັນ"}, {"Sayavong", "ໄຊຍະວົງ"}, {"Vongphachanh", "ວົງພະຈັນ"}, {"Keomany", "ແກ້ວມະນີ"},
		{"Inthavong", "ອິນທະວົງ"}, {"Sisouphanh", "ສີສຸພັນ"}, {"Douangmala", "ດວງມາລາ"}, {"Chanthavong", "ຈັນທະວົງ"},
		{"Souvannavong", "ສຸວັນນະວົງ"}, {"Phanthavong", "ພັນທະວົງ"}, {"Bounyavong", "ບຸນຍະວົງ"},
	},
}

// Burmese names have no family name: a person's name is two to four
// syllables, so these lists hold syllables and Family stays empty.
var myanmarNames = nameSet{
	Male: []name{
		{"Aung", "အောင်"}, {"Kyaw", "ကျော်"}, {"Min", "မင်း"}, {"Zaw", "ဇော်"}, {"Htun", "ထွန်း"}, {"Myint", "မြင့်"},
		{"Win", "ဝင်း"}, {"Naing", "နိုင်"}, {"Soe", "စိုး"}, {"Thein", "သိန်း"}, {"Ko", "ကို"}, {"Phyo", "ဖြိုး"},
		{"Ye", "ရဲ"}, {"Lwin", "လွင်"}, {"Htet", "ထက်"}, {"Paing", "ပိုင်"}, {"Hlaing", "လှိုင်"}, {"Thu", "သူ"},
		{"Oo", "ဦး"}, {"Moe", "မိုး"},
	},
	Female: []name{
		{"Aye", "အေး"}, {"Mya", "မြ"}, {"Hnin", "နှင်း"}, {"Su", "စု"}, {"Thida", "သီတာ"}, {"Ei", "အိ"},
		{"Khin", "ခင်"}, {"May", "မေ"}, {"Phyu", "ဖြူ"}, {"Nwe", "နွယ်"}, {"San", "စန်း"}, {"Yin", "ယဉ်"},
		{"Wai", "ဝေ"}, {"Zar", "ဇာ"}, {"Moe", "မိုး"}, {"Thandar", "သန္တာ"}, {"Thiri", "သီရိ"}, {"Hla", "လှ"},
	},
}

// facility is an Organization the records point at. The gateway holds no
// Organization resources yet, so these are plain references with a display.
type facility struct{ ID, Name string }

var (
	facIPC    = facility{"org-khm-ipc", "Institut Pasteur du Cambodge"}
	facCENAT  = facility{"org-khm-cenat", "CENAT National TB Reference Laboratory"}
	facIOMPNH = facility{"org-iom-mhac-pnh", "IOM Migration Health Assessment Centre, Phnom Penh"}
	facIOMBKK = facility{"org-iom-mhac-bkk", "IOM Migration Health Assessment Centre, Bangkok"}
)

// place is an address; Province is the two-digit Thai province code that
// opens a Thai personal id registered there.
type place struct {
	City, District, State, Country string
	Province                       string
	Facility                       facility
}

func khm(w int, city, state, facID, facName string) weighted[place] {
	return weighted[place]{w, place{City: city, District: city, State: state, Country: "KHM", Facility: facility{facID, facName}}}
}

func tha(city, district, state, province, facID, facName string) place {
	return place{City: city, District: district, State: state, Country: "THA", Province: province, Facility: facility{facID, facName}}
}

// Cambodian homes: the provinces on the Thai border, and the poorer rice
// provinces most migrant workers come from.
var cambodianHomes = []weighted[place]{
	khm(18, "Poipet", "Banteay Meanchey", "org-khm-poipet-rh", "Poipet Referral Hospital"),
	khm(12, "Serei Saophoan", "Banteay Meanchey", "org-khm-bmc-prh", "Banteay Meanchey Provincial Referral Hospital"),
	khm(14, "Battambang", "Battambang", "org-khm-btb-prh", "Battambang Provincial Referral Hospital"),
	khm(8, "Samraong", "Oddar Meanchey", "org-khm-omc-prh", "Oddar Meanchey Provincial Referral Hospital"),
	khm(5, "Pailin", "Pailin", "org-khm-pln-prh", "Pailin Provincial Referral Hospital"),
	khm(6, "Khemarak Phoumin", "Koh Kong", "org-khm-kkg-prh", "Koh Kong Provincial Referral Hospital"),
	khm(7, "Siem Reap", "Siem Reap", "org-khm-srp-prh", "Siem Reap Provincial Referral Hospital"),
	khm(10, "Prey Veng", "Prey Veng", "org-khm-pvg-prh", "Prey Veng Provincial Referral Hospital"),
	khm(9, "Kampong Cham", "Kampong Cham", "org-khm-kcm-prh", "Kampong Cham Provincial Referral Hospital"),
	khm(6, "Svay Rieng", "Svay Rieng", "org-khm-svr-prh", "Svay Rieng Provincial Referral Hospital"),
	khm(5, "Doun Kaev", "Takeo", "org-khm-tko-prh", "Takeo Provincial Referral Hospital"),
}

var (
	thAranyaprathet = tha("Aranyaprathet", "Aranyaprathet", "Sa Kaeo", "27", "org-tha-aranyaprathet", "Aranyaprathet Hospital")
	thSaKaeo        = tha("Sa Kaeo", "Mueang Sa Kaeo", "Sa Kaeo", "27", "org-tha-sakaeo", "Sa Kaeo Hospital")
	thChanthaburi   = tha("Chanthaburi", "Mueang Chanthaburi", "Chanthaburi", "22", "org-tha-prapokklao", "Prapokklao Hospital")
	thKhlongYai     = tha("Khlong Yai", "Khlong Yai", "Trat", "23", "org-tha-khlongyai", "Khlong Yai Hospital")
	thKapChoeng     = tha("Kap Choeng", "Kap Choeng", "Surin", "32", "org-tha-kapchoeng", "Kap Choeng Hospital")
	thKantharalak   = tha("Kantharalak", "Kantharalak", "Si Sa Ket", "33", "org-tha-kantharalak", "Kantharalak Hospital")
	thBanKruat      = tha("Ban Kruat", "Ban Kruat", "Buri Ram", "31", "org-tha-bankruat", "Ban Kruat Hospital")
	thBangkok       = tha("Bangkok", "Bang Khun Thian", "Bangkok", "10", "org-tha-taksin", "Taksin Hospital")
	thSamutSakhon   = tha("Samut Sakhon", "Mueang Samut Sakhon", "Samut Sakhon", "74", "org-tha-samutsakhon", "Samut Sakhon Hospital")
	thSiRacha       = tha("Si Racha", "Si Racha", "Chon Buri", "20", "org-tha-sriracha", "Queen Savang Vadhana Memorial Hospital")
	thRayong        = tha("Rayong", "Mueang Rayong", "Rayong", "21", "org-tha-rayong", "Rayong Hospital")
	thMaeSot        = tha("Mae Sot", "Mae Sot", "Tak", "63", "org-tha-maesot", "Mae Sot Hospital")
	thRanong        = tha("Ranong", "Mueang Ranong", "Ranong", "85", "org-tha-ranong", "Ranong Hospital")
	thNongKhai      = tha("Nong Khai", "Mueang Nong Khai", "Nong Khai", "43", "org-tha-nongkhai", "Nong Khai Hospital")
	thMukdahan      = tha("Mukdahan", "Mueang Mukdahan", "Mukdahan", "49", "org-tha-mukdahan", "Mukdahan Hospital")
	thUbon          = tha("Ubon Ratchathani", "Mueang Ubon Ratchathani", "Ubon Ratchathani", "34", "org-tha-sunpasit", "Sunpasitthiprasong Hospital")
)

// Where each nationality works in Thailand: Cambodians along the eastern
// border, the eastern seaboard and Bangkok; Lao along the Mekong; Myanmar
// workers at Mae Sot, Ranong and the Samut Sakhon fisheries.
var (
	thaiHomes = []weighted[place]{{20, thAranyaprathet}, {10, thSaKaeo}, {12, thChanthaburi}, {8, thKhlongYai},
		{10, thKapChoeng}, {10, thKantharalak}, {8, thBanKruat}, {6, thNongKhai}, {6, thMaeSot}, {5, thUbon}, {5, thMukdahan}}
	cambodianWork = []weighted[place]{{18, thAranyaprathet}, {6, thSaKaeo}, {14, thChanthaburi}, {8, thKhlongYai},
		{16, thBangkok}, {10, thSiRacha}, {10, thRayong}, {6, thKapChoeng}, {5, thKantharalak}, {4, thBanKruat}, {3, thSamutSakhon}}
	laoWork     = []weighted[place]{{30, thNongKhai}, {20, thMukdahan}, {20, thUbon}, {30, thBangkok}}
	myanmarWork = []weighted[place]{{30, thMaeSot}, {20, thRanong}, {35, thSamutSakhon}, {15, thBangkok}}

	laoHomes = []weighted[place]{
		{40, place{City: "Vientiane", District: "Chanthabouly", State: "Vientiane Capital", Country: "LAO"}},
		{25, place{City: "Kaysone Phomvihane", District: "Kaysone Phomvihane", State: "Savannakhet", Country: "LAO"}},
		{20, place{City: "Pakse", District: "Pakse", State: "Champasak", Country: "LAO"}},
		{15, place{City: "Thakhek", District: "Thakhek", State: "Khammouane", Country: "LAO"}},
	}
	myanmarHomes = []weighted[place]{
		{30, place{City: "Myawaddy", District: "Myawaddy", State: "Kayin State", Country: "MMR"}},
		{20, place{City: "Kawthaung", District: "Kawthaung", State: "Tanintharyi Region", Country: "MMR"}},
		{30, place{City: "Mawlamyine", District: "Mawlamyine", State: "Mon State", Country: "MMR"}},
		{20, place{City: "Yangon", District: "Yangon", State: "Yangon Region", Country: "MMR"}},
	}
)
