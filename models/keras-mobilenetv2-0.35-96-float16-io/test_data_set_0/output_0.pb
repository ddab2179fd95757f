

BpredictionsJÎ0_4S)≤)Y&å3ê+£-J)€(