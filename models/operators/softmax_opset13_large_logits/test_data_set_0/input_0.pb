
BXJPM½D”€D‹`uDýhD85ƒDüv|DúfvDë…D¼a„D)¦xD¨²~D1·qDÒ—D|2lDe¬D,êdDD#½~Dg oD>‚D