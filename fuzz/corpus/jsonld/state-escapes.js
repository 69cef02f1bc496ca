{title:"\x41\u{6839}\ud83d\ude00\udc00\0\q\
",desc:'ÿæ'}