

BpredictionsJ/a1¢'_,}$'55.m,(,Ê*