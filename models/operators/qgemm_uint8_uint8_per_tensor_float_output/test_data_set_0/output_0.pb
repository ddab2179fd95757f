BYJ„eBê·ÓAJ)ÛAr§ÐAŽ—ªA]rÖAaå»Aî¶²A=I´AD4ÔA¡¥A7BÛyBÂ†B<BØ†ÚA€ðA9óïAZúõAû\îA+ÁüARÖAáÑBZ»Bq,BH8üA·bÚA³ºøA‹7çA#O
B`°BŒìB8lýA