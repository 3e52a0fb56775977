int hb_placeholder(void);
