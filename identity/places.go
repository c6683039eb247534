package identity

// place is a real US city with a postal code, telephone area code and time
// zone that all agree with it, so an address, a phone number and a time zone
// drawn together describe one coherent person.
type place struct {
	city, region, postal, area, tz string
}

// places is the table identities draw from. Changing it changes generated
// identities: the golden test in identity_test.go will say so.
var places = []place{
	{"Seattle", "WA", "98101", "206", "America/Los_Angeles"},
	{"Spokane", "WA", "99201", "509", "America/Los_Angeles"},
	{"Portland", "OR", "97205", "503", "America/Los_Angeles"},
	{"San Francisco", "CA", "94103", "415", "America/Los_Angeles"},
	{"Los Angeles", "CA", "90012", "213", "America/Los_Angeles"},
	{"San Diego", "CA", "92101", "619", "America/Los_Angeles"},
	{"Sacramento", "CA", "95814", "916", "America/Los_Angeles"},
	{"Las Vegas", "NV", "89101", "702", "America/Los_Angeles"},
	{"Phoenix", "AZ", "85004", "602", "America/Phoenix"},
	{"Tucson", "AZ", "85701", "520", "America/Phoenix"},
	{"Salt Lake City", "UT", "84111", "801", "America/Denver"},
	{"Denver", "CO", "80202", "303", "America/Denver"},
	{"Boise", "ID", "83702", "208", "America/Boise"},
	{"Albuquerque", "NM", "87102", "505", "America/Denver"},
	{"Austin", "TX", "78701", "512", "America/Chicago"},
	{"Dallas", "TX", "75201", "214", "America/Chicago"},
	{"Houston", "TX", "77002", "713", "America/Chicago"},
	{"Oklahoma City", "OK", "73102", "405", "America/Chicago"},
	{"Kansas City", "MO", "64106", "816", "America/Chicago"},
	{"St. Louis", "MO", "63101", "314", "America/Chicago"},
	{"Minneapolis", "MN", "55401", "612", "America/Chicago"},
	{"Chicago", "IL", "60601", "312", "America/Chicago"},
	{"Milwaukee", "WI", "53202", "414", "America/Chicago"},
	{"Nashville", "TN", "37203", "615", "America/Chicago"},
	{"New Orleans", "LA", "70112", "504", "America/Chicago"},
	{"Detroit", "MI", "48226", "313", "America/Detroit"},
	{"Indianapolis", "IN", "46204", "317", "America/Indiana/Indianapolis"},
	{"Columbus", "OH", "43215", "614", "America/New_York"},
	{"Pittsburgh", "PA", "15222", "412", "America/New_York"},
	{"Philadelphia", "PA", "19103", "215", "America/New_York"},
	{"Atlanta", "GA", "30303", "404", "America/New_York"},
	{"Charlotte", "NC", "28202", "704", "America/New_York"},
	{"Raleigh", "NC", "27601", "919", "America/New_York"},
	{"Miami", "FL", "33130", "305", "America/New_York"},
	{"Orlando", "FL", "32801", "407", "America/New_York"},
	{"Richmond", "VA", "23219", "804", "America/New_York"},
	{"Baltimore", "MD", "21202", "410", "America/New_York"},
	{"New York", "NY", "10001", "212", "America/New_York"},
	{"Buffalo", "NY", "14202", "716", "America/New_York"},
	{"Boston", "MA", "02108", "617", "America/New_York"},
	{"Providence", "RI", "02903", "401", "America/New_York"},
	{"Hartford", "CT", "06103", "860", "America/New_York"},
	{"Burlington", "VT", "05401", "802", "America/New_York"},
	{"Portland", "ME", "04101", "207", "America/New_York"},
}

// streetNames and streetTypes make plausible US street addresses (gofakeit's
// own street names are invented words).
var (
	streetNames = []string{"Maple", "Oak", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Main",
		"Church", "High", "Walnut", "Chestnut", "Spring", "Sunset", "Ridge", "Meadow", "Lincoln", "Jackson",
		"Franklin", "Highland", "Cherry", "Willow", "Madison", "River", "Forest", "Center", "Jefferson", "Adams",
		"Mill", "Prospect", "Union", "Grove", "Birch", "Laurel", "Hickory", "Sycamore", "Poplar", "Magnolia"}
	streetTypes = []string{"Street", "Avenue", "Road", "Lane", "Drive", "Court", "Boulevard", "Way", "Place", "Terrace"}
)
