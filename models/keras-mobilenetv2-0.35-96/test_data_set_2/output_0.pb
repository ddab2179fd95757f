
BpredictionsJ(Þmá==K+>ävö<==‹=Tî<®8¥>Ç=ã‹Ž=»Æ„=ŒBW=