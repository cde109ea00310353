"""Writes config/sample-feed.xml, the demo's feed (headlines written for this project)."""
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

ITEMS = {
    "SUPERPOWERS": [
        ("Foreign ministers of three Pacific allies meet ahead of Beijing talks", "Tokyo (AFP)", "Officials said the talks would focus on maritime security and trade, with all three capitals seeking to keep lines of communication open before the summit."),
        ("Envoy lands in Beijing for first high-level visit in five years", "Beijing (AFP)", "Both sides voiced guarded hope of improving communication and preventing conflict, while playing down hopes of a major breakthrough."),
        ("Key issues that drive the rivalry between Washington and Beijing", "Beijing (AFP)", "From surveillance balloons to semiconductors and the future of Taiwan, a look at the disputes that shape relations between the two largest economies."),
        ("Alliance summit to tighten ties with Kyiv, stops short of membership", "Vilnius (AFP)", "Leaders are expected to agree a new council and a multi-year assistance plan, but no invitation to join."),
        ("Defence ministers agree joint industry plan on jet engines", "New Delhi (AFP)", "The roadmap covers co-production of engines and armoured vehicles and a faster path for licences."),
        ("Parliament debates record defence budget amid regional tension", "Canberra (AFP)", "The government says the increase is needed to deter coercion; critics question the cost of the submarine programme."),
        ("Summit ends with pledge to keep crisis hotline open", "Geneva (AFP)", "The two delegations agreed to meet again in the autumn and to restore military-to-military contacts."),
    ],
    "MISSILE DEFENSE": [
        ("Europeans scramble on air defence after decades of complacency", "Paris (AFP)", "Governments are racing to buy interceptors and radars, but industry warns that production lines cannot keep up with orders."),
        ("Berlin moves to buy long-range anti-missile shield for 4bn euros", "Berlin (AFP)", "The system would protect against ballistic missiles in the upper atmosphere and could be shared with neighbours."),
        ("Allies to supply more air defence missiles to Ukraine", "Brussels (AFP)", "The package includes interceptors for systems already in service and funds for repairs."),
        ("North Korea fires two short-range ballistic missiles", "Seoul (AFP)", "The launches came hours after Pyongyang warned of an 'inevitable' response to joint drills."),
        ("Navy completes intercept test of hypersonic glide vehicle target", "Honolulu (UPI)", "The test used a modified interceptor and a new tracking layer, the service said."),
        ("Command and control system supports air defence across the Baltics", "Riga (SPX)", "The integrated system links sensors and shooters from several nations into one air picture."),
    ],
    "MILITARY SPACE": [
        ("Final flight of veteran rocket will carry communications satellite", "Kourou (AFP)", "The launch closes a chapter for the European workhorse as its successor prepares for its debut."),
        ("Constellation operators demonstrate global connectivity for the alliance", "Paris (SPX)", "The trial linked aircraft, ships and ground units through satellites in two orbits."),
        ("Research lab selects company to deliver multi-orbit relay communications", "Dayton (SPX)", "The contract will test how commercial networks can carry military data between orbits."),
        ("Space force stands up new unit to track objects in cislunar space", "Colorado Springs (AFP)", "The unit will watch the region between Earth and the Moon as traffic there increases."),
        ("Parliament approves satellite deal giving alliance access to broadband system", "Luxembourg (SPX)", "The agreement allows allied forces to use the medium-orbit network for secure communications."),
        ("Early-warning satellite reaches geostationary orbit", "Cape Canaveral (AFP)", "The spacecraft carries infrared sensors that detect missile launches within seconds."),
    ],
    "DRONE WAR": [
        ("Maritime surveillance drone demonstrates targeting during exercise", "Anchorage (SPX)", "The flying test bed passed targeting data to ships and aircraft during the large-scale exercise."),
        ("Research gathers key radar data for autonomous air cargo delivery", "Washington (SPX)", "Flights with an instrumented aircraft collected data to teach uncrewed freighters to avoid other traffic."),
        ("Report says drone factory being built with foreign help", "Washington (AFP)", "Officials released satellite images of the site and said production could begin next year."),
        ("Drone-wielding volunteers rescue family from flooded village", "Kherson (AFP)", "The team used a heavy-lift drone to drop life jackets and guide boats to the stranded family."),
        ("Army orders counter-drone lasers for forward bases", "Huntsville (UPI)", "The high-energy systems are meant to defeat small drones at a fraction of the cost of missiles."),
        ("Making the 'connected battlespace' a reality", "London (SPX)", "Industry leaders say open standards matter more than any single platform for linking drones and crews."),
    ],
    "NUCLEAR WEAPONS": [
        ("Watchdog says enrichment has reached new levels at underground site", "Vienna (AFP)", "Inspectors found particles enriched close to weapons grade and asked for an explanation."),
        ("Arms control talks resume after two-year pause", "Geneva (AFP)", "Delegations will discuss data exchanges and inspections under the expired treaty's framework."),
        ("Submarine-launched missile test marks step for modernisation programme", "Washington (AFP)", "The unarmed missile flew more than 6,000 kilometres before its re-entry vehicle splashed down."),
        ("Think tank counts growing stockpile in annual survey", "Stockholm (AFP)", "The yearly report says the number of deployed warheads rose for the third year in a row."),
        ("Parliament ratifies test-ban protocol after long debate", "Ottawa (AFP)", "The vote clears the way for new monitoring stations and data sharing."),
    ],
}
SLUGS = {"SUPERPOWERS": "superpowers", "MISSILE DEFENSE": "missile-defense",
         "MILITARY SPACE": "military-space", "DRONE WAR": "drone-war", "NUCLEAR WEAPONS": "nuclear-weapons"}


def main() -> None:
    start = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    rows = []
    n = 0
    for section, items in ITEMS.items():
        for headline, dateline, teaser in items:
            n += 1
            when = start - timedelta(minutes=37 * n)
            source = dateline.split("(")[1].rstrip(")")
            slug = "-".join("".join(c if c.isalnum() else " " for c in headline.lower()).split())[:70]
            rows.append(f"""    <item>
      <title>{escape(headline)}</title>
      <link>https://www.spacewar.example.com/reports/{slug}.html?utm_source=rss</link>
      <description>{escape(teaser)}</description>
      <category>{escape(section)}</category>
      <dc:creator>{escape(source)} Staff Writers</dc:creator>
      <dc:coverage>{escape(dateline)}</dc:coverage>
      <source url="https://www.spacewar.example.com/">{escape(source)}</source>
      <pubDate>{format_datetime(when)}</pubDate>
    </item>""")
    body = "\n".join(rows)
    with open("config/sample-feed.xml", "w", encoding="utf-8") as fh:
        fh.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>SpaceWar.example: Military Space News</title>
    <link>https://www.spacewar.example.com/</link>
    <description>Sample feed for the newsletter demo: {n} headlines in five sections.</description>
{body}
  </channel>
</rss>
""")


if __name__ == "__main__":
    main()
