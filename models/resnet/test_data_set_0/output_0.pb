
BoutputJ(ö ½k­I>lÙC?,Q?f˜?f~Ž>$½w ??Z'>ø”3¿