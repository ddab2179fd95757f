Boutput_0JXg¾‰ƒ‹?
$Ï?'óú¿