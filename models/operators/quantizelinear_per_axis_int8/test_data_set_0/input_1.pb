Binput_1J
×£<ÍÌL=ÍÌÌ=