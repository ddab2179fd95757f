

BpredictionsJ/x1?*S,4&ô4’-á-I+.(