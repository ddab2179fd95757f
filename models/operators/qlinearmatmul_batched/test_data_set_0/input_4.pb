Binput_4J
ף<