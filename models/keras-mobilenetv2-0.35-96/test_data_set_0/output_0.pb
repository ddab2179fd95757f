
BpredictionsJ(~l>†+Œ>M+=L½2=šÿË<fÇp>s
p=Ýx´=-=Æ>=